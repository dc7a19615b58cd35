// The lab engine's dependency graph is read off each RegisterResourceRequest (lab/dependencies.ts): what the
// Pulumi engine records as a resource's dependencies and per-input property dependencies.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { Dependencies, keyOfUrn, recordDependencies } from "../../lab/dependencies";

const DISK = "gcp:compute/disk:Disk::data";

test("a URN names its resource by its own type (not its parents') and name", () => {
  expect(keyOfUrn("urn:pulumi:lab::mailserver::mailserver:index:MailServer$mailserver:index:MailHost$gcp:compute/disk:Disk::mail-data"))
    .toBe("gcp:compute/disk:Disk::mail-data");
});

test("the per-input dependencies are the inputs' sources; dependsOn is a dependency of no input", async () => {
  const seen = new Map<string, Dependencies>();
  await pulumi.runtime.setMocks({
    newResource: (a) => ({ id: `${a.name}-id`, state: { ...a.inputs, name: a.name } }),
    call: () => ({}),
  }, "mailserver", "lab", false);
  recordDependencies(seen);
  const disk = new gcp.compute.Disk("data", { zone: "z", size: 10 });
  const attachment = new gcp.compute.DiskResourcePolicyAttachment("snapshots", { disk: disk.name, zone: "z", name: "daily" });
  const ip = new gcp.compute.Address("ip", { region: "r" }, { dependsOn: [disk] });
  await Promise.all([attachment.id, ip.id].map((o) => new Promise((resolve) => o.apply(resolve))));
  expect(seen.get("gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment::snapshots"))
    .toEqual({ dependencies: [DISK], propertyDependencies: { disk: [DISK], name: [], zone: [] } });
  expect(seen.get("gcp:compute/address:Address::ip")).toEqual({ dependencies: [DISK], propertyDependencies: { region: [] } });
  expect(seen.get(DISK)).toEqual({ dependencies: [], propertyDependencies: { size: [], zone: [] } });
});
