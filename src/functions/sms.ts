import { registerFamilyFunction } from "../handler";

registerFamilyFunction("sms");
