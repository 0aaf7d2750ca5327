// TokenReview and SubjectAccessReview against the API server, with a small cache so a busy
// exec or log client does not cost a review per request (upstream caches 2 minutes for
// authenticated tokens and allowed answers, 30 seconds for denied ones).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <map>
#include <mutex>

#include "kite/client/client.h"
#include "kite/kubelet/kubelet_server.h"

namespace kite::kubelet {
namespace {

using Clock = std::chrono::steady_clock;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
constexpr auto kAllowedTtl = std::chrono::minutes(2);
constexpr auto kDeniedTtl = std::chrono::seconds(30);

class ApiServerAuth final : public KubeletAuthApi {
 public:
  explicit ApiServerAuth(client::Client& client) : client_(client) {}

  std::optional<KubeletUser> reviewToken(const std::string& token) override {
    {
      const std::lock_guard lock(mutex_);
      const auto it = tokens_.find(token);
      if (it != tokens_.end() && it->second.expires > Clock::now()) {
        return it->second.user;
      }
    }
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    w.Key("apiVersion");
    w.String("authentication.k8s.io/v1");
    w.Key("kind");
    w.String("TokenReview");
    w.Key("spec");
    w.StartObject();
    w.Key("token");
    w.String(token.c_str());
    w.EndObject();
    w.EndObject();
    const std::string answer =
        client_.call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", buffer.GetString());
    rapidjson::Document doc;
    doc.Parse(answer.c_str(), answer.size());
    std::optional<KubeletUser> user;
    if (doc.IsObject() && doc.HasMember("status") && doc["status"].IsObject()) {
      const auto& status = doc["status"];
      if (status.HasMember("authenticated") && status["authenticated"].IsBool() &&
          status["authenticated"].GetBool() && status.HasMember("user") &&
          status["user"].IsObject()) {
        const auto& u = status["user"];
        KubeletUser found;
        if (u.HasMember("username") && u["username"].IsString())
          found.name = u["username"].GetString();
        if (u.HasMember("uid") && u["uid"].IsString()) found.uid = u["uid"].GetString();
        if (u.HasMember("groups") && u["groups"].IsArray()) {
          for (const auto& g : u["groups"].GetArray()) {
            if (g.IsString()) found.groups.emplace_back(g.GetString());
          }
        }
        user = std::move(found);
      }
    }
    const std::lock_guard lock(mutex_);
    tokens_[token] = {user, Clock::now() + (user ? Clock::duration(kAllowedTtl) : kDeniedTtl)};
    return user;
  }

  std::pair<bool, std::string> reviewAccess(const KubeletUser& user, const std::string& verb,
                                            const std::string& nodeName,
                                            const std::string& subresource) override {
    std::string key = user.name + "\n" + verb + "\n" + subresource;
    for (const auto& group : user.groups) key += "\n" + group;
    {
      const std::lock_guard lock(mutex_);
      const auto it = access_.find(key);
      if (it != access_.end() && it->second.expires > Clock::now()) {
        return it->second.answer;
      }
    }
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    w.Key("apiVersion");
    w.String("authorization.k8s.io/v1");
    w.Key("kind");
    w.String("SubjectAccessReview");
    w.Key("spec");
    w.StartObject();
    w.Key("user");
    w.String(user.name.c_str());
    if (!user.uid.empty()) {
      w.Key("uid");
      w.String(user.uid.c_str());
    }
    w.Key("groups");
    w.StartArray();
    for (const auto& group : user.groups) w.String(group.c_str());
    w.EndArray();
    w.Key("resourceAttributes");
    w.StartObject();
    w.Key("verb");
    w.String(verb.c_str());
    w.Key("resource");
    w.String("nodes");
    w.Key("subresource");
    w.String(subresource.c_str());
    w.Key("name");
    w.String(nodeName.c_str());
    w.EndObject();
    w.EndObject();
    w.EndObject();
    const std::string answer = client_.call(
        "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", buffer.GetString());
    rapidjson::Document doc;
    doc.Parse(answer.c_str(), answer.size());
    std::pair<bool, std::string> result{false, ""};
    if (doc.IsObject() && doc.HasMember("status") && doc["status"].IsObject()) {
      const auto& status = doc["status"];
      result.first =
          status.HasMember("allowed") && status["allowed"].IsBool() && status["allowed"].GetBool();
      if (status.HasMember("reason") && status["reason"].IsString()) {
        result.second = status["reason"].GetString();
      }
    }
    const std::lock_guard lock(mutex_);
    access_[key] = {result,
                    Clock::now() + (result.first ? Clock::duration(kAllowedTtl) : kDeniedTtl)};
    return result;
  }

 private:
  struct CachedToken {
    std::optional<KubeletUser> user;
    Clock::time_point expires;
  };
  struct CachedAccess {
    std::pair<bool, std::string> answer;
    Clock::time_point expires;
  };
  client::Client& client_;
  std::mutex mutex_;
  std::map<std::string, CachedToken> tokens_;
  std::map<std::string, CachedAccess> access_;
};

}  // namespace

std::shared_ptr<KubeletAuthApi> makeApiServerAuth(client::Client& client) {
  return std::make_shared<ApiServerAuth>(client);
}

}  // namespace kite::kubelet
