// The mailserver policy pack: run it with `pulumi preview --policy-pack policy` (see docs/environments.md, "Policy pack").
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("mailserver", { policies, enforcementLevel: "mandatory" });
