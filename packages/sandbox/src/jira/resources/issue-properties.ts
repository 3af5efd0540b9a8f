import { allow, badRequest, HttpError, json, ok } from "../http.ts";
import type { IssueResource, JiraContext } from "./resource.ts";

const MAX_PROPERTY_KEY = 255;
const MAX_PROPERTY_VALUE = 32_768;

export function checkPropertyKey(key: string) {
  if (key.length === 0 || key.length > MAX_PROPERTY_KEY)
    throw badRequest([`The property key must be between 1 and ${MAX_PROPERTY_KEY} characters long.`]);
}

export function checkPropertyValue(serialized: string) {
  if (Buffer.byteLength(serialized) > MAX_PROPERTY_VALUE)
    throw badRequest([`The property value exceeds the maximum size of ${MAX_PROPERTY_VALUE} bytes.`]);
}

/** GET /issue/{idOrKey}/properties (the keys) and GET, PUT, DELETE /issue/{idOrKey}/properties/{key}. */
export const issueProperties =
  ({ site }: JiraContext): IssueResource =>
  ({ method, path, parts, rawBody }, issue) => {
    if (parts[2] !== "properties") return undefined;
    if (parts.length === 3) {
      allow(method, ["GET"], path);
      return ok(200, {
        keys: [...issue.properties.keys()].map((key) => ({
          self: `${site.url}/rest/api/3/issue/${issue.id}/properties/${encodeURIComponent(key)}`,
          key,
        })),
      });
    }
    if (parts.length !== 4) return undefined;
    const key = parts[3]!;
    allow(method, ["GET", "PUT", "DELETE"], path);
    if (method === "GET") {
      if (!issue.properties.has(key))
        throw new HttpError(404, [`The property with key '${key}' does not exist.`]);
      return ok(200, { key, value: structuredClone(issue.properties.get(key)) });
    }
    if (method === "DELETE") {
      if (!issue.properties.has(key))
        throw new HttpError(404, [`The property with key '${key}' does not exist.`]);
      issue.properties.delete(key);
      return { status: 204 };
    }
    checkPropertyKey(key);
    const value = json(rawBody);
    checkPropertyValue(rawBody);
    const existed = issue.properties.has(key);
    issue.properties.set(key, value);
    return { status: existed ? 200 : 201 };
  };
