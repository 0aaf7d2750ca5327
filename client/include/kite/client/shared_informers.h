#pragma once
// One informer per kind for all the controllers of a process, as upstream's shared informer
// factory: each object is listed, watched, decoded and cached once however many controllers
// read it. With a private informer each, the controller manager kept about nine decoded copies
// of every pod (one per controller that looks at pods) and a watch and thread per copy.
//
//   auto informers = std::make_shared<client::SharedInformers>(client);
//   client::Informer<Pod>& pods = informers->get<Pod>();  // the same object for every caller
//   pods.addEventHandler(...);  // every user adds its handlers and indexers before start()
//
// The informers watch every namespace with no selector. Users agree on index names: an index
// name means one function (Cache::addIndexer keeps the first). Every user starts and stops the
// informers it uses (both idempotent); all users of one factory are started together and
// stopped together, since a stopped informer delivers nothing more to anyone. The factory, and
// with it the informers, lives as long as its last holder.

#include <map>
#include <memory>
#include <mutex>
#include <typeindex>

#include "kite/client/informer.h"

namespace kite::client {

class SharedInformers {
 public:
  explicit SharedInformers(Client& client) : client_(client) {}
  SharedInformers(const SharedInformers&) = delete;
  SharedInformers& operator=(const SharedInformers&) = delete;

  // The informer of T, created on first use.
  template <class T>
  Informer<T>& get() {
    const std::lock_guard lock(mutex_);
    auto& slot = informers_[std::type_index(typeid(T))];
    if (!slot) slot = std::make_unique<Informer<T>>(client_);
    return static_cast<Informer<T>&>(*slot);
  }

  // How many kinds have an informer (for tests).
  std::size_t size() const {
    const std::lock_guard lock(mutex_);
    return informers_.size();
  }

 private:
  Client& client_;
  mutable std::mutex mutex_;
  std::map<std::type_index, std::unique_ptr<InformerBase>> informers_;
};

}  // namespace kite::client
