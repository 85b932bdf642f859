import { createSqlPlugin } from "../sql/plugin.ts";

export default createSqlPlugin({
  kind: "mysql",
  name: "MySQL / MariaDB",
  description: "Read and write your own MySQL or MariaDB tables through reviewed, parameterized statements.",
});
