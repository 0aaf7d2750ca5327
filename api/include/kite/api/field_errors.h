#pragma once
// Field errors in the upstream form ("spec.containers[0].image: Required value"), used by the
// decoder for structural problems and later by validation, and their Status rendering.

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kite/api/meta/v1/types.h"

namespace kite::api {

enum class ErrorType {
  NotFound,        // FieldValueNotFound: "Not found"
  Required,        // FieldValueRequired: "Required value"
  Duplicate,       // FieldValueDuplicate: "Duplicate value"
  Invalid,         // FieldValueInvalid: "Invalid value"
  NotSupported,    // FieldValueNotSupported: "Unsupported value"
  Forbidden,       // FieldValueForbidden: "Forbidden"
  TooLong,         // FieldValueTooLong: "Too long"
  TooMany,         // FieldValueTooMany: "Too many"
  Internal,        // InternalError: "Internal error"
  TypeInvalid,     // FieldValueTypeInvalid: "Invalid value" (wrong JSON type)
  UnknownField,    // FieldValueUnknown: a JSON field the type does not have
  DuplicateField,  // FieldValueDuplicateField: a JSON field given twice
};

// The StatusCause reason, e.g. "FieldValueRequired".
std::string_view errorTypeName(ErrorType type);
// The human text, e.g. "Required value".
std::string_view errorTypeText(ErrorType type);

// s as a Go %q string: "a\"b".
std::string quoteValue(std::string_view s);

struct FieldError {
  ErrorType type = ErrorType::Invalid;
  std::string field;                 // "spec.containers[0].image", "metadata.labels[app]"
  std::optional<std::string> value;  // the bad value as printed (quoted if a string)
  std::string detail;

  // "Invalid value: \"x\": must be positive" (without the field).
  std::string body() const;
  // "spec.replicas: Invalid value: -1: must be positive"; for unknown and duplicate fields
  // `unknown field "spec.foo"` / `duplicate field "spec.foo"`.
  std::string message() const;

  static FieldError required(std::string field, std::string detail = {});
  static FieldError invalid(std::string field, std::string_view value, std::string detail);
  static FieldError invalid(std::string field, int64_t value, std::string detail);
  static FieldError notSupported(std::string field, std::string_view value,
                                 const std::vector<std::string>& valid);
  static FieldError duplicate(std::string field, std::string_view value);
  static FieldError notFound(std::string field, std::string_view value);
  static FieldError forbidden(std::string field, std::string detail);
  static FieldError tooLong(std::string field, std::size_t maxLength);
  static FieldError tooMany(std::string field, std::size_t actual, std::size_t max);
  static FieldError internal(std::string field, std::string detail);
  static FieldError unknownField(std::string field);
  static FieldError duplicateField(std::string field);
};

class FieldErrors : public std::runtime_error {
 public:
  explicit FieldErrors(std::vector<FieldError> errors);

  const std::vector<FieldError>& errors() const { return errors_; }

  // A Failure Status with reason "Invalid", code 422 and one cause per error
  // (reason = the error type name, message = body(), field). With kind and name the
  // message reads `Pod "web" is invalid: [...]` (kind is qualified with group when set:
  // `Deployment.apps "web" is invalid: ...`).
  meta::v1::Status toStatus(std::string_view kind = {}, std::string_view name = {},
                            std::string_view group = {}) const;

 private:
  std::vector<FieldError> errors_;
};

// "msg" for one error, "[msg1, msg2]" for several (upstream's aggregate form).
std::string aggregateMessage(const std::vector<FieldError>& errors);

}  // namespace kite::api
