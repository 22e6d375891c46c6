import { registerFamilyFunction } from "../handler";

registerFamilyFunction("presence");
