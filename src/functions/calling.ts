import { registerFamilyFunction } from "../handler";

registerFamilyFunction("calling");
