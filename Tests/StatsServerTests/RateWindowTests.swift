import SwitchmanCore
import Testing

@Suite struct RateWindowTests {
    @Test func steadyFlowReadsItsRate() {
        var w = RateWindow(seconds: 10)
        for second in Int64(100)..<Int64(130) { w.add(5, second: second) }
        #expect(w.rate(now: 130) == 5)
        #expect(w.total(now: 130) == 50)
    }

    @Test func theSecondInProgressIsNotCounted() {
        var w = RateWindow()
        w.add(7, second: 200)
        #expect(w.total(now: 200) == 0)
        #expect(w.total(now: 201) == 7)
    }

    @Test func countsOlderThanTheWindowDropOut() {
        var w = RateWindow(seconds: 10)
        w.add(10, second: 100)
        w.add(3, second: 105)
        #expect(w.total(now: 110) == 13)
        #expect(w.total(now: 111) == 3)
        #expect(w.rate(now: 116) == 0)
    }

    @Test func aBucketIsReusedForANewSecondAndLateAmountsForAnOldSecondAreDropped() {
        var w = RateWindow(seconds: 4)
        w.add(1, second: 10)
        w.add(2, second: 14)  // same bucket as 10: replaces it
        w.add(100, second: 10)  // too late: ignored
        #expect(w.total(now: 15) == 2)
    }

    @Test func mergingSumsTheSameSecondsAndKeepsTheNewer() {
        var a = RateWindow(seconds: 10), b = RateWindow(seconds: 10)
        a.add(1, second: 50)
        b.add(2, second: 50)
        a.add(4, second: 41)  // same bucket as 51, older
        b.add(8, second: 51)
        a.merge(b)
        #expect(a.total(now: 52) == 11)
    }

    @Test func negativeSecondsIndexSafely() {
        var w = RateWindow(seconds: 3)
        w.add(3, second: -2)
        #expect(w.total(now: -1) == 3)
    }
}
