import { createSqlPlugin } from "../sql/plugin.ts";

export default createSqlPlugin({
  kind: "postgres",
  name: "PostgreSQL",
  description: "Read and write your own PostgreSQL tables through reviewed, parameterized statements.",
});
