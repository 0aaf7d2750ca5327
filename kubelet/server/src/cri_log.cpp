#include "kite/kubelet/server/cri_log.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace kite::kubelet::server {
namespace {

bool digits(std::string_view text, std::size_t at, std::size_t count, int& value) {
  if (at + count > text.size()) {
    return false;
  }
  value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return false;
    }
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

std::string percentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(text[i + 1]) != 0 &&
               std::isxdigit(text[i + 2]) != 0) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

bool parseBool(const std::string& name, const std::string& value) {
  if (value.empty() || value == "true" || value == "1") {
    return true;
  }
  if (value == "false" || value == "0") {
    return false;
  }
  throw std::invalid_argument(name + ": invalid boolean \"" + value + "\"");
}

std::int64_t parseInt(const std::string& name, const std::string& value) {
  try {
    std::size_t used = 0;
    const long long parsed = std::stoll(value, &used);
    if (used == value.size()) {
      return parsed;
    }
  } catch (const std::exception&) {
  }
  throw std::invalid_argument(name + ": invalid integer \"" + value + "\"");
}

struct FileId {
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const FileId&) const = default;
};

std::optional<FileId> fileId(const std::string& path, off_t* size = nullptr) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return std::nullopt;
  }
  if (size != nullptr) {
    *size = info.st_size;
  }
  return FileId{info.st_dev, info.st_ino};
}

// Formats and writes entries within the byte limit; false once the output must stop.
class Writer {
 public:
  Writer(const LogOptions& options, const LogSink& sink) : options_(options), sink_(sink) {}

  bool write(const LogEntry& entry) {
    if (options_.since && entry.time < *options_.since) {
      return true;
    }
    std::string text;
    if (options_.timestamps) {
      text.append(entry.timestamp).push_back(' ');
    }
    text.append(entry.message);
    if (options_.limitBytes) {
      const auto left = *options_.limitBytes - written_;
      if (left <= 0) {
        return false;
      }
      if (static_cast<std::int64_t>(text.size()) > left) {
        text.resize(static_cast<std::size_t>(left));
      }
    }
    written_ += static_cast<std::int64_t>(text.size());
    if (!sink_(std::move(text))) {
      return false;
    }
    return !options_.limitBytes || written_ < *options_.limitBytes;
  }

 private:
  const LogOptions& options_;
  const LogSink& sink_;
  std::int64_t written_ = 0;
};

}  // namespace

std::optional<LogTime> parseRfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)
  std::tm tm{};
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!digits(text, 0, 4, year) || text.size() < 20 || text[4] != '-' ||
      !digits(text, 5, 2, month) || text[7] != '-' || !digits(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't') || !digits(text, 11, 2, hour) || text[13] != ':' ||
      !digits(text, 14, 2, minute) || text[16] != ':' || !digits(text, 17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::size_t at = 19;
  std::int64_t nanos = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    int count = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      if (count < 9) {
        nanos = nanos * 10 + (text[at] - '0');
        ++count;
      }
      ++at;
    }
    if (count == 0) {
      return std::nullopt;
    }
    for (; count < 9; ++count) {
      nanos *= 10;
    }
  }
  int offsetSeconds = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    int offHour = 0;
    int offMinute = 0;
    if (!digits(text, at + 1, 2, offHour) || at + 3 >= text.size() || text[at + 3] != ':' ||
        !digits(text, at + 4, 2, offMinute)) {
      return std::nullopt;
    }
    offsetSeconds = (offHour * 3600 + offMinute * 60) * (text[at] == '+' ? 1 : -1);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t seconds = ::timegm(&tm) - offsetSeconds;
  return LogTime(std::chrono::duration_cast<LogTime::duration>(std::chrono::seconds(seconds) +
                                                               std::chrono::nanoseconds(nanos)));
}

std::vector<LogEntry> CriLogParser::feed(std::string_view bytes) {
  std::vector<LogEntry> out;
  carry_.append(bytes);
  std::size_t start = 0;
  while (true) {
    const auto end = carry_.find('\n', start);
    if (end == std::string::npos) {
      break;
    }
    const std::string_view line(carry_.data() + start, end - start);
    start = end + 1;
    // <time> <stream> <tag> <message>
    const auto s1 = line.find(' ');
    const auto s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
    if (s2 == std::string_view::npos) {
      continue;
    }
    const auto s3 = line.find(' ', s2 + 1);
    const std::string_view stamp = line.substr(0, s1);
    const std::string_view stream = line.substr(s1 + 1, s2 - s1 - 1);
    const std::string_view tag =
        line.substr(s2 + 1, s3 == std::string_view::npos ? std::string_view::npos : s3 - s2 - 1);
    const std::string_view message =
        s3 == std::string_view::npos ? std::string_view() : line.substr(s3 + 1);
    const auto time = parseRfc3339(stamp);
    if (!time || (stream != "stdout" && stream != "stderr") || (tag != "F" && tag != "P")) {
      continue;
    }
    if (!partial_) {
      partial_ = LogEntry{*time, std::string(stamp), std::string(stream), {}};
    }
    partial_->message.append(message);
    if (tag == "F") {
      partial_->message.push_back('\n');
      out.push_back(std::move(*partial_));
      partial_.reset();
    }
  }
  carry_.erase(0, start);
  return out;
}

std::optional<LogEntry> CriLogParser::flushPartial() {
  auto entry = std::move(partial_);
  partial_.reset();
  return entry;
}

LogOptions parseLogOptions(std::string_view query, LogTime now) {
  LogOptions options;
  std::size_t at = 0;
  while (at < query.size()) {
    auto end = query.find('&', at);
    if (end == std::string_view::npos) {
      end = query.size();
    }
    const std::string_view pair = query.substr(at, end - at);
    at = end + 1;
    if (pair.empty()) {
      continue;
    }
    const auto eq = pair.find('=');
    const std::string name = percentDecode(pair.substr(0, eq));
    const std::string value =
        eq == std::string_view::npos ? std::string() : percentDecode(pair.substr(eq + 1));
    if (name == "follow") {
      options.follow = parseBool(name, value);
    } else if (name == "previous") {
      options.previous = parseBool(name, value);
    } else if (name == "timestamps") {
      options.timestamps = parseBool(name, value);
    } else if (name == "tailLines") {
      options.tailLines = parseInt(name, value);
      if (*options.tailLines < 0) {
        throw std::invalid_argument("tailLines: must be greater than or equal to 0");
      }
    } else if (name == "limitBytes") {
      options.limitBytes = parseInt(name, value);
      if (*options.limitBytes < 1) {
        throw std::invalid_argument("limitBytes: must be greater than 0");
      }
    } else if (name == "sinceSeconds") {
      const auto seconds = parseInt(name, value);
      if (seconds < 1) {
        throw std::invalid_argument("sinceSeconds: must be greater than 0");
      }
      options.since = now - std::chrono::seconds(seconds);
    } else if (name == "sinceTime") {
      const auto time = parseRfc3339(value);
      if (!time) {
        throw std::invalid_argument("sinceTime: invalid RFC3339 time \"" + value + "\"");
      }
      options.since = *time;
    }
  }
  return options;
}

void readContainerLog(const std::string& path, const LogOptions& options, const LogSink& sink,
                      const std::function<bool()>& keepFollowing,
                      std::chrono::milliseconds pollInterval) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw std::runtime_error("cannot open log file " + path + ": " + std::strerror(errno));
  }
  auto id = fileId(path);
  CriLogParser parser;
  Writer writer(options, sink);
  std::string chunk(std::size_t{64} * 1024, '\0');
  auto readAvailable = [&](std::vector<LogEntry>& entries) {
    while (true) {
      file.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      const auto got = file.gcount();
      if (got <= 0) {
        break;
      }
      for (auto& entry :
           parser.feed(std::string_view(chunk.data(), static_cast<std::size_t>(got)))) {
        entries.push_back(std::move(entry));
      }
    }
    file.clear();  // EOF is not the end when following
  };

  // What is there now, with since and tail applied (tail counts lines after since).
  std::vector<LogEntry> initial;
  readAvailable(initial);
  std::size_t first = 0;
  if (options.tailLines) {
    std::size_t kept = 0;
    first = initial.size();
    while (first > 0 && kept < static_cast<std::size_t>(*options.tailLines)) {
      --first;
      if (!options.since || initial[first].time >= *options.since) {
        ++kept;
      }
    }
  }
  for (std::size_t i = first; i < initial.size(); ++i) {
    if (!writer.write(initial[i])) {
      return;
    }
  }
  if (!options.follow) {
    if (auto partial = parser.flushPartial()) {
      writer.write(*partial);
    }
    return;
  }
  while (keepFollowing()) {
    std::vector<LogEntry> entries;
    readAvailable(entries);
    for (const auto& entry : entries) {
      if (!writer.write(entry)) {
        return;
      }
    }
    if (entries.empty() && !sink(std::string())) {
      return;  // an empty write notices a client that left
    }
    off_t size = 0;
    const auto now = fileId(path, &size);
    const auto position = file.tellg();
    if (now && (!(*now == *id) || (position >= 0 && size < position))) {
      // Rotated (a new file took the name) or truncated: the old file was read to its end
      // above; go on with the new one from its start.
      std::ifstream next(path, std::ios::binary);
      if (next) {
        file = std::move(next);
        id = now;
        continue;
      }
    }
    std::this_thread::sleep_for(pollInterval);
  }
  // Whatever was written before following stopped (the container's last words).
  std::vector<LogEntry> last;
  readAvailable(last);
  if (auto partial = parser.flushPartial()) {
    last.push_back(std::move(*partial));
  }
  for (const auto& entry : last) {
    if (!writer.write(entry)) {
      return;
    }
  }
}

}  // namespace kite::kubelet::server
