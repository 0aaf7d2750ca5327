#pragma once
// Container logs as the CRI runtime writes them, one line per chunk:
//   <RFC3339Nano time> <stdout|stderr> <F|P> <message>
// (F: the line is complete; P: a partial line, continued by the next entry), and the
// selection `kubectl logs` asks for: since, tail, timestamps, a byte limit, following the
// file as it grows and across rotation.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kite::kubelet::server {

using LogTime = std::chrono::system_clock::time_point;

struct LogEntry {
  LogTime time;
  std::string timestamp;  // as written in the file
  std::string stream;     // "stdout" or "stderr"
  std::string message;    // partial lines joined; ends with '\n' when the line was complete
};

// Parses "2016-10-06T00:17:09.669794202Z" and offsets like "+02:00"; nullopt when malformed.
std::optional<LogTime> parseRfc3339(std::string_view text);

// Turns CRI log text into entries, joining partial lines. Feed it pieces of the file in order;
// an incomplete last line waits for the next piece. Malformed lines are skipped.
class CriLogParser {
 public:
  std::vector<LogEntry> feed(std::string_view bytes);
  // A partial line still waiting for its end (when the file was read to its end).
  std::optional<LogEntry> flushPartial();

 private:
  std::string carry_;  // bytes after the last '\n'
  std::optional<LogEntry> partial_;
};

// The query parameters of /containerLogs (PodLogOptions).
struct LogOptions {
  bool follow = false;
  std::optional<std::int64_t> tailLines;
  std::optional<LogTime> since;  // from sinceSeconds or sinceTime
  bool previous = false;
  bool timestamps = false;
  std::optional<std::int64_t> limitBytes;
};

// Parses the query string (still percent-encoded); throws std::invalid_argument naming the
// parameter when a value is bad.
LogOptions parseLogOptions(std::string_view query, LogTime now = std::chrono::system_clock::now());

// What the reader writes to; false: the client is gone, stop.
using LogSink = std::function<bool(std::string)>;

// Writes the selected log of the file at `path` to `sink`. With follow it keeps reading as the
// file grows, reopening it when it is rotated (replaced or truncated), until `keepFollowing`
// says no or the sink refuses. Throws std::runtime_error when the file cannot be opened.
void readContainerLog(const std::string& path, const LogOptions& options, const LogSink& sink,
                      const std::function<bool()>& keepFollowing,
                      std::chrono::milliseconds pollInterval = std::chrono::milliseconds(200));

}  // namespace kite::kubelet::server
