#include "kite/controlplane/node_authorizer.h"

namespace kite::controlplane {

namespace {

class UnionAuthorizer final : public Authorizer {
 public:
  explicit UnionAuthorizer(std::vector<std::shared_ptr<Authorizer>> members)
      : members_(std::move(members)) {}

  Decision authorize(const UserInfo& user, const Attributes& attributes) override {
    std::string reasons;
    for (const auto& m : members_) {
      Decision d = m->authorize(user, attributes);
      if (d.allowed) return d;
      if (d.reason.empty()) continue;
      if (!reasons.empty()) reasons.push_back('\n');
      reasons.append(d.reason);
    }
    return {false, std::move(reasons)};
  }

 private:
  std::vector<std::shared_ptr<Authorizer>> members_;
};

}  // namespace

std::shared_ptr<Authorizer> newUnionAuthorizer(std::vector<std::shared_ptr<Authorizer>> members) {
  return std::make_shared<UnionAuthorizer>(std::move(members));
}

}  // namespace kite::controlplane
