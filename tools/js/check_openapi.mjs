// node check_openapi.mjs FILE: validates an OpenAPI 3.0 document with swagger-parser (the schema
// check that generated clients and validating proxies run). Exit 0 valid, 1 invalid, 77 when the
// package is not installed (ctest counts 77 as skipped).
let SwaggerParser;
try {
  SwaggerParser = (await import("@apidevtools/swagger-parser")).default;
} catch {
  console.log("skipped: @apidevtools/swagger-parser is not installed (run tools/install-js.sh)");
  process.exit(77);
}
try {
  const api = await SwaggerParser.validate(process.argv[2]);
  console.log(`valid: ${Object.keys(api.paths).length} paths`);
} catch (e) {
  console.error(`invalid OpenAPI document ${process.argv[2]}: ${e.message}`);
  process.exit(1);
}
