// A PLUGINS_DIR folder whose export breaks the contract: the loader must log and skip it, never stop the server.
export default { kind: "Bad" };
