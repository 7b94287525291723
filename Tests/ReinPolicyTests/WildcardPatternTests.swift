import Testing
@testable import ReinPolicy

struct WildcardPatternTests {
    @Test(arguments: [
        ("s3:GetObject", "s3:GetObject", true), ("s3:Get*", "s3:GetObject", true), ("s3:Get*", "s3:PutObject", false),
        ("*", "anything", true), ("*", "", true), ("s3:*Object", "s3:GetObject", true), ("s3:*Object", "s3:GetObjectAcl", false),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/", true), ("arn:aws:s3:::b/*", "arn:aws:s3:::b", false),
        ("a?c", "abc", true), ("a?c", "ac", false), ("a*b*c", "aXXbYYc", true), ("a*b*c", "aXXcYYb", false),
        ("ab*ab", "ab", false), ("*ab*", "xxabyy", true),
    ])
    func matches(_ pattern: String, _ value: String, _ expected: Bool) {
        #expect(WildcardPattern(pattern).matches(value) == expected)
    }

    @Test func actionsAreCaseInsensitive() {
        #expect(WildcardPattern("S3:getobject", caseInsensitive: true).matches("s3:GetObject"))
        #expect(!WildcardPattern("arn:aws:s3:::B", caseInsensitive: false).matches("arn:aws:s3:::b"))
    }
}
