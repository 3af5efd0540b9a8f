export { assertValidObjects, schemaProblems, VALIDATED_KINDS } from "./validate.ts";
