import { gatehouseProject } from "../../shared/vitest/project.ts";

export default gatehouseProject("order-lookup", { slow: true });
