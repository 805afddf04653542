import Testing
@testable import StatsServer

@Suite struct BasicAuthTests {
    // "admin:s3cret" = YWRtaW46czNjcmV0, "admin:s3creT" = YWRtaW46czNjcmVU
    @Test("Authorization headers against admin:s3cret", arguments: [
        ("Basic YWRtaW46czNjcmV0", true),
        ("basic   YWRtaW46czNjcmV0  ", true),
        ("BASIC YWRtaW46czNjcmV0", true),
        ("Basic YWRtaW46czNjcmVU", false),
        ("Basic YWRtaW46czNjcmV0YQ==", false),  // a longer password
        ("Basic YWRtaW46czNjcmU=", false),  // a shorter one
        ("Bearer YWRtaW46czNjcmV0", false),
        ("Basic", false),
        ("Basic !!!!", false),
        ("Basic YWRtaW46czNjcmV0=", false),  // padding where none belongs
        ("", false),
    ])
    func matches(_ header: String, _ expected: Bool) {
        #expect(BasicAuth.matches(header: header, expected: "admin:s3cret") == expected)
    }

    @Test func missingHeaderNeverMatches() {
        #expect(!BasicAuth.matches(header: nil, expected: "a:b"))
    }

    @Test("base64 decodes with and without padding", arguments: [
        ("", ""), ("YQ==", "a"), ("YQ", "a"), ("YWI=", "ab"), ("YWJj", "abc"), ("dXNlcjpww6Q=", "user:pä"),
    ])
    func base64(_ text: String, _ expected: String) {
        #expect(BasicAuth.decodeBase64(Substring(text)) == Array(expected.utf8))
    }

    @Test func invalidBase64IsRejected() {
        for text in ["Y", "YQ===", "Y=Q=", "YQ=a", "Y Q="] {
            #expect(BasicAuth.decodeBase64(Substring(text)) == nil, "\(text)")
        }
    }

    @Test func constantTimeEqualityComparesWholeContents() {
        #expect(BasicAuth.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!BasicAuth.constantTimeEquals(Array("abd".utf8), Array("abc".utf8)))
        #expect(!BasicAuth.constantTimeEquals(Array("ab".utf8), Array("abc".utf8)))
        #expect(!BasicAuth.constantTimeEquals(Array("abc\u{0}".utf8), Array("abc".utf8)))
        #expect(!BasicAuth.constantTimeEquals([], Array("x".utf8)))
    }
}
