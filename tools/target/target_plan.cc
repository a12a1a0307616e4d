#include "target_plan.h"

#include "error.h"
#include "unit_serial.h"

namespace iscsi_target {

AttributeMap tuned_parameters() {
  // Measured on the wire (test-vms/bench-tuning.sh, PDU counts from a loopback capture, LIO on Linux 6.1):
  // with LIO's defaults (FirstBurstLength 65536, InitialR2T Yes) a 256 KiB write takes 4 PDUs and one R2T
  // round trip; with these, 2 PDUs and none; a 1 MiB write needs 3 R2T round trips instead of 4 (libiscsi
  // offers MaxBurstLength 262144; open-iscsi offers 16776192, so there MaxBurstLength 1 MiB leaves one).
  // Negotiation takes the lower of both sides, and initiators offer more than LIO's defaults, so the target is
  // where these limits are set.
  return {
      // LIO answers with its MaxXmitDataSegmentLength (262144), so this changes nothing on the wire with
      // LIO 6.1; set explicitly so the receive limit does not depend on that kernel behaviour.
      {"MaxRecvDataSegmentLength", "262144"},
      {"MaxXmitDataSegmentLength", "262144"},
      {"FirstBurstLength", "262144"},  // unsolicited data per write: writes up to 256 KiB need no R2T
      {"MaxBurstLength", "1048576"},   // solicited data per R2T sequence
      {"InitialR2T", "No"},            // data follows the command without waiting for an R2T
      {"ImmediateData", "Yes"},
  };
}

LioConfig plan_lio_config(const TargetSettings& settings, const std::vector<BlockDevice>& devices) {
  LioConfig config;
  Tpg tpg;
  tpg.tag = 1;
  tpg.attributes = {
      {"authentication", settings.chap.enabled() ? "1" : "0"},
      {"generate_node_acls", "0"},  // only the listed initiators get in
      {"cache_dynamic_acls", "0"},
      {"demo_mode_write_protect", "1"},  // and demo mode stays off: generate_node_acls 0
  };
  if (settings.tuning == Tuning::tuned) tpg.parameters = tuned_parameters();
  tpg.portals.push_back(settings.portal);

  for (size_t i = 0; i < devices.size(); ++i) {
    const auto& dev = devices[i];
    for (size_t k = 0; k < i; ++k)
      if (devices[k].devno == dev.devno)
        throw setting_error(keys::dev, dev.spec, "is the same device as " + devices[k].spec + " (" + dev.path + ")");
    StorageObject so;
    so.name = dev.name;
    so.plugin = "block";
    so.dev = dev.path;
    so.wwn = unit_serial_from_identity(dev.identity);
    // Read-only: iblock opens the device without write access (a disk behind a hardware write blocker works
    // too), and LIO itself refuses writes on every mapping below.
    so.readonly = settings.read_only;
    config.storage_objects.push_back(so);
    tpg.luns.push_back({static_cast<unsigned>(i), so.saveconfig_path(), so.name});
  }

  for (const auto& initiator : settings.initiator_iqns) {
    NodeAcl acl;
    acl.node_wwn = initiator;
    acl.chap_userid = settings.chap.userid;
    acl.chap_password = settings.chap.password;
    acl.chap_mutual_userid = settings.chap.mutual_userid;
    acl.chap_mutual_password = settings.chap.mutual_password;
    // write_protect: LIO answers every write with CHECK CONDITION, DATA PROTECT / WRITE PROTECTED, and MODE
    // SENSE shows the WP bit, so initiators mount read-only.
    for (const auto& lun : tpg.luns) acl.mapped_luns.push_back({lun.index, lun.index, settings.read_only});
    tpg.node_acls.push_back(std::move(acl));
  }

  config.targets.push_back({settings.iqn, "iscsi", {std::move(tpg)}});
  return config;
}

}  // namespace iscsi_target
