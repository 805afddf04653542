import Testing

/// Every suite that opens sockets, nested here so they run one test at a time: a test that counts
/// this process's descriptors must not overlap with another that opens some (Swift Testing runs
/// suites in parallel otherwise). Pure tests stay outside and run in parallel.
@Suite(.serialized)
enum SocketTests {}
