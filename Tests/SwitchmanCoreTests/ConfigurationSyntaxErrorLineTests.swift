import Testing

@testable import SwitchmanCore

/// A YAML syntax error found at the end of the text names a line the file has (found by
/// Fuzz/ConfigurationFuzz: without a final newline, libyaml puts the end one line past the last).
struct ConfigurationSyntaxErrorLineTests {
    @Test("a YAML error at the end of a file without a final newline names the file's last line")
    func syntaxErrorAtTheEndNamesTheLastLine() {
        let yaml = "listeners:\n  -x:\n  -)raw"
        #expect(throws: ConfigurationError.self) {
            _ = try ConfigurationLoader.parse(yaml: yaml, file: "proxy.conf", environment: [:])
        }
        do {
            _ = try ConfigurationLoader.parse(yaml: yaml, file: "proxy.conf", environment: [:])
        } catch {
            #expect(error.line == 3, "\(error)")
        }
    }

    @Test("a YAML error in a file with CR line ends names its line, as a YAML reader counts them")
    func syntaxErrorInACRFileNamesItsLine() {
        do {
            _ = try ConfigurationLoader.parse(yaml: "listeners:\r  -x:\r  -)raw\r", file: "proxy.conf", environment: [:])
            Issue.record("parsed")
        } catch {
            #expect(error.line == 4, "\(error)")
        }
    }

    @Test("a value error at the end of a file without a final newline names the file's last line")
    func valueErrorAtTheEndNamesTheLastLine() {
        // Found by the fuzzer: "--- " is a document whose value is nothing, which libyaml marks one
        // line past the last.
        do {
            _ = try ConfigurationLoader.parse(yaml: "--- ", file: "proxy.conf", environment: [:])
            Issue.record("parsed")
        } catch {
            #expect(error.line == 1, "\(error)")
            #expect(error.message.contains("expected a mapping"), "\(error)")
        }
    }
}
