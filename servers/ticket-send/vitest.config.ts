import { gatehouseProject } from "../../shared/vitest/project.ts";

export default gatehouseProject("ticket-send", { slow: true });
