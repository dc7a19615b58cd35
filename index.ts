// Entry point: `pulumi up` runs the exported function and exports what it returns.
import { program } from "./components/program";

export = program;
