import { registerFamilyFunction } from "../handler";

registerFamilyFunction("chat");
