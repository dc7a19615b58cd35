// The dependencies the engine records for each resource come from its RegisterResourceRequest: the resources it
// depends on, and per input property the resources that input's value came from (pulumi/pulumi
// pkg/resource/deploy/source_eval.go, upstream/pulumi-engine.ts PROPERTY_DEPENDENCIES). The SDK's mock monitor
// does not hand them to Mocks.newResource, so the lab reads them off the request on its way there.
import * as pulumi from "@pulumi/pulumi";
import type { RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb";
import { keyOf } from "./engine/engine";

export interface Dependencies {
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
}

/** The type::name of a URN: urn:pulumi:<stack>::<project>::<parent type>$…$<type>::<name>. */
export function keyOfUrn(urn: string): string {
  const [, , qualifiedType, ...name] = urn.split("::");
  return keyOf(qualifiedType.split("$").pop() ?? qualifiedType, name.join("::"));
}

export function dependenciesOf(req: RegisterResourceRequest): Dependencies {
  const propertyDependencies: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((deps, property) => { propertyDependencies[property] = deps.getUrnsList().map(keyOfUrn); });
  return { dependencies: req.getDependenciesList().map(keyOfUrn), propertyDependencies };
}

type Monitor = { registerResource(req: RegisterResourceRequest, callback: unknown): void };

/** After setMocks: every registration's dependencies, by type::name, land in `into` before the mocks see it. */
export function recordDependencies(into: Map<string, Dependencies>): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as Monitor | undefined;
  if (monitor === undefined) throw new Error("recordDependencies needs the mock monitor: call pulumi.runtime.setMocks first");
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    into.set(keyOf(req.getType(), req.getName()), dependenciesOf(req));
    register(req, callback);
  };
}
