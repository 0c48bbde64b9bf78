/**
 * The fuzz harness's clock: Date.now() is frozen (in the processes that import this, i.e. the
 * fuzz targets for the state machines and the tests that replay their seeds), so recorded
 * flights with session tickets (creation time, ticket age, lifetime) replay the same way on any
 * day. Certificates are checked against `new Date()`, which this does not touch; FUZZ_NOW lies
 * inside the demo certificates' validity anyway.
 */
export const FUZZ_NOW = Date.parse("2027-03-01T12:00:00Z");
Date.now = () => FUZZ_NOW;
