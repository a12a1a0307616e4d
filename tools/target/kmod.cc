#include "kmod.h"

#include <libkmod.h>

#include <cstring>
#include <memory>
#include <unistd.h>

#include "error.h"

namespace iscsi_target {

void load_kernel_modules(const std::vector<std::string>& names) {
  std::unique_ptr<kmod_ctx, decltype(&kmod_unref)> ctx(kmod_new(nullptr, nullptr), kmod_unref);
  if (!ctx) throw Error("libkmod: cannot create context");
  kmod_load_resources(ctx.get());
  for (const auto& name : names) {
    kmod_list* list = nullptr;
    int err = kmod_module_new_from_lookup(ctx.get(), name.c_str(), &list);
    if (err < 0) throw Error("kernel module " + name + ": lookup failed: " + std::strerror(-err));
    if (!list) {
      // Not found as a module: fine when the kernel has it built in.
      if (access(("/sys/module/" + name).c_str(), F_OK) == 0) continue;
      throw Error("kernel module " + name + ": not found in /lib/modules (is it in the initramfs?)");
    }
    kmod_list* item = nullptr;
    kmod_list_foreach(item, list) {
      kmod_module* mod = kmod_module_get_module(item);
      err = kmod_module_probe_insert_module(mod, KMOD_PROBE_APPLY_BLACKLIST, nullptr, nullptr, nullptr, nullptr);
      kmod_module_unref(mod);
      if (err < 0 && err != -EEXIST) {
        kmod_module_unref_list(list);
        throw Error("kernel module " + name + ": cannot load: " + std::strerror(-err));
      }
      if (err > 0) {  // KMOD_PROBE_APPLY_BLACKLIST: blacklisted
        kmod_module_unref_list(list);
        throw Error("kernel module " + name + ": blacklisted");
      }
    }
    kmod_module_unref_list(list);
  }
}

}  // namespace iscsi_target
