#include "kite/api/field_errors.h"

#include <array>
#include <cstdio>

namespace kite::api {

std::string_view errorTypeName(ErrorType type) {
  switch (type) {
    case ErrorType::NotFound:
      return "FieldValueNotFound";
    case ErrorType::Required:
      return "FieldValueRequired";
    case ErrorType::Duplicate:
      return "FieldValueDuplicate";
    case ErrorType::Invalid:
      return "FieldValueInvalid";
    case ErrorType::NotSupported:
      return "FieldValueNotSupported";
    case ErrorType::Forbidden:
      return "FieldValueForbidden";
    case ErrorType::TooLong:
      return "FieldValueTooLong";
    case ErrorType::TooMany:
      return "FieldValueTooMany";
    case ErrorType::Internal:
      return "InternalError";
    case ErrorType::TypeInvalid:
      return "FieldValueTypeInvalid";
    case ErrorType::UnknownField:
      return "FieldValueUnknown";
    case ErrorType::DuplicateField:
      return "FieldValueDuplicateField";
  }
  return "FieldValueInvalid";
}

std::string_view errorTypeText(ErrorType type) {
  switch (type) {
    case ErrorType::NotFound:
      return "Not found";
    case ErrorType::Required:
      return "Required value";
    case ErrorType::Duplicate:
      return "Duplicate value";
    case ErrorType::Invalid:
    case ErrorType::TypeInvalid:
      return "Invalid value";
    case ErrorType::NotSupported:
      return "Unsupported value";
    case ErrorType::Forbidden:
      return "Forbidden";
    case ErrorType::TooLong:
      return "Too long";
    case ErrorType::TooMany:
      return "Too many";
    case ErrorType::Internal:
      return "Internal error";
    case ErrorType::UnknownField:
      return "unknown field";
    case ErrorType::DuplicateField:
      return "duplicate field";
  }
  return "Invalid value";
}

std::string quoteValue(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          std::array<char, 8> buf{};
          std::snprintf(buf.data(), buf.size(), "\\x%02x", static_cast<unsigned>(c));
          out += buf.data();
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

std::string FieldError::body() const {
  std::string s(errorTypeText(type));
  if (type == ErrorType::UnknownField || type == ErrorType::DuplicateField) {
    return s + " " + quoteValue(field);
  }
  if (value && type != ErrorType::Required && type != ErrorType::Forbidden &&
      type != ErrorType::TooLong && type != ErrorType::Internal) {
    s += ": " + *value;
  }
  if (!detail.empty()) s += ": " + detail;
  return s;
}

std::string FieldError::message() const {
  if (type == ErrorType::UnknownField || type == ErrorType::DuplicateField || field.empty()) {
    return body();
  }
  return field + ": " + body();
}

FieldError FieldError::required(std::string field, std::string detail) {
  return {ErrorType::Required, std::move(field), std::nullopt, std::move(detail)};
}

FieldError FieldError::invalid(std::string field, std::string_view value, std::string detail) {
  return {ErrorType::Invalid, std::move(field), quoteValue(value), std::move(detail)};
}

FieldError FieldError::invalid(std::string field, int64_t value, std::string detail) {
  return {ErrorType::Invalid, std::move(field), std::to_string(value), std::move(detail)};
}

FieldError FieldError::notSupported(std::string field, std::string_view value,
                                    const std::vector<std::string>& valid) {
  std::string detail;
  if (!valid.empty()) {
    detail = "supported values: ";
    for (std::size_t i = 0; i < valid.size(); ++i) {
      if (i > 0) detail += ", ";
      detail += quoteValue(valid[i]);
    }
  }
  return {ErrorType::NotSupported, std::move(field), quoteValue(value), std::move(detail)};
}

FieldError FieldError::duplicate(std::string field, std::string_view value) {
  return {ErrorType::Duplicate, std::move(field), quoteValue(value), {}};
}

FieldError FieldError::notFound(std::string field, std::string_view value) {
  return {ErrorType::NotFound, std::move(field), quoteValue(value), {}};
}

FieldError FieldError::forbidden(std::string field, std::string detail) {
  return {ErrorType::Forbidden, std::move(field), std::nullopt, std::move(detail)};
}

FieldError FieldError::tooLong(std::string field, std::size_t maxLength) {
  return {ErrorType::TooLong, std::move(field), std::nullopt,
          "may not be more than " + std::to_string(maxLength) + " bytes"};
}

FieldError FieldError::tooMany(std::string field, std::size_t actual, std::size_t max) {
  return {ErrorType::TooMany, std::move(field), std::to_string(actual),
          "must have at most " + std::to_string(max) + " items"};
}

FieldError FieldError::internal(std::string field, std::string detail) {
  return {ErrorType::Internal, std::move(field), std::nullopt, std::move(detail)};
}

FieldError FieldError::unknownField(std::string field) {
  return {ErrorType::UnknownField, std::move(field), std::nullopt, {}};
}

FieldError FieldError::duplicateField(std::string field) {
  return {ErrorType::DuplicateField, std::move(field), std::nullopt, {}};
}

std::string aggregateMessage(const std::vector<FieldError>& errors) {
  if (errors.size() == 1) return errors.front().message();
  std::string out = "[";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i > 0) out += ", ";
    out += errors[i].message();
  }
  out += "]";
  return out;
}

FieldErrors::FieldErrors(std::vector<FieldError> errors)
    : std::runtime_error(aggregateMessage(errors)), errors_(std::move(errors)) {}

meta::v1::Status FieldErrors::toStatus(std::string_view kind, std::string_view name,
                                       std::string_view group) const {
  meta::v1::Status st;
  st.apiVersion = meta::v1::Status::kApiVersion;
  st.kind = meta::v1::Status::kKind;
  st.status = "Failure";
  st.reason = "Invalid";
  st.code = 422;
  std::string qualified(kind);
  if (!group.empty() && !qualified.empty()) qualified += "." + std::string(group);
  st.message = qualified.empty() ? aggregateMessage(errors_)
                                 : qualified + " " + quoteValue(name) +
                                       " is invalid: " + aggregateMessage(errors_);
  meta::v1::StatusDetails details;
  details.name = std::string(name);
  details.group = std::string(group);
  details.kind = std::string(kind);
  for (const auto& e : errors_) {
    meta::v1::StatusCause cause;
    cause.reason = std::string(errorTypeName(e.type));
    cause.message = e.body();
    cause.field = e.field;
    details.causes.push_back(std::move(cause));
  }
  st.details = std::move(details);
  return st;
}

}  // namespace kite::api
