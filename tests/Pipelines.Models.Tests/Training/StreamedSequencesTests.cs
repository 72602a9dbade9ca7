using Pipelines.Models.Training;

namespace Pipelines.Models.Tests.Training;

/// <summary>The shuffle buffer that streamed pretraining draws from.</summary>
[TestClass]
public sealed class StreamedSequencesTests
{
    // A source of sequences [i] for i in 0 .. count - 1 that counts what it has handed out.
    private sealed class Source(int count)
    {
        public long Read { get; private set; }
        public int Opened { get; private set; }

        public IEnumerable<StreamedSequence> Open()
        {
            Opened++;
            for (var i = 0; i < count; i++)
            {
                Read++;
                yield return new StreamedSequence([i]);
            }
        }
    }

    private static int[] Ids(IEnumerable<StreamedSequence> drawn) => drawn.Select(s => s.Ids[0]).ToArray();

    [TestMethod]
    public void EachEpochHandsOutEverySequenceOnceInAnOrderOfItsOwn()
    {
        var source = new Source(50);
        using var stream = new StreamedSequences(source.Open, bufferSize: 8, seed: 3);
        var first = Enumerable.Range(0, 10).SelectMany(d => Ids(stream.Draw(d, 5))).ToArray();
        var second = Enumerable.Range(10, 10).SelectMany(d => Ids(stream.Draw(d, 5))).ToArray();
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 50).ToArray(), first);
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 50).ToArray(), second);
        CollectionAssert.AreNotEqual(Enumerable.Range(0, 50).ToArray(), first, "shuffled");
        CollectionAssert.AreNotEqual(first, second, "each epoch has its own order");
        Assert.AreEqual(2, source.Opened);
        Assert.AreEqual(50, stream.SequencesPerEpoch);
    }

    [TestMethod]
    public void TheBufferBoundsHowFarASequenceCanMoveAndWhatIsHeld()
    {
        var source = new Source(1000);
        using var stream = new StreamedSequences(source.Open, bufferSize: 16, seed: 4);
        var drawn = new List<int>();
        for (var d = 0; d < 20; d++)
        {
            drawn.AddRange(Ids(stream.Draw(d, 10)));
            // Never read further ahead than the buffer (15 left after the last take) and the read-ahead queue
            // (another 16, and one in the reader's hands): memory holds those, not the corpus.
            Assert.IsLessThanOrEqualTo(drawn.Count + 15 + 16 + 1, source.Read, $"draw {d}");
        }
        // The i-th sequence handed out was among the first i + 16 read.
        for (var i = 0; i < drawn.Count; i++) Assert.IsLessThan(i + 16, drawn[i], $"position {i}");
        using var unbuffered = new StreamedSequences(new Source(30).Open, bufferSize: 1, seed: 4);
        CollectionAssert.AreEqual(Enumerable.Range(0, 12).ToArray(), Enumerable.Range(0, 4).SelectMany(d => Ids(unbuffered.Draw(d, 3))).ToArray(),
            "a buffer of one is the source's order");
    }

    [TestMethod]
    public void ADrawReachedBySkippingIsTheDrawOfTheUninterruptedStream()
    {
        using var uninterrupted = new StreamedSequences(new Source(37).Open, bufferSize: 9, seed: 5);
        var expected = Enumerable.Range(0, 25).Select(d => Ids(uninterrupted.Draw(d, 4))).ToList();
        using var resumed = new StreamedSequences(new Source(37).Open, bufferSize: 9, seed: 5);
        // A resumed run's first draw is the checkpoint's step: the stream reads its way there.
        for (var d = 17; d < 25; d++) CollectionAssert.AreEqual(expected[d], Ids(resumed.Draw(d, 4)), $"draw {d}");
        // An earlier draw (a run restarted from an older checkpoint) rewinds.
        CollectionAssert.AreEqual(expected[3], Ids(resumed.Draw(3, 4)));
        using var otherSeed = new StreamedSequences(new Source(37).Open, bufferSize: 9, seed: 6);
        CollectionAssert.AreNotEqual(expected[0], Ids(otherSeed.Draw(0, 4)));
    }

    [TestMethod]
    public void PackedWindowsOverlapByOneSoEveryTokenIsATargetOnce()
    {
        int[][] rows = [[1, 2, 3], [4, 5], [6, 7, 8, 9]];                 // with separator 0: 1 2 3 0 4 5 0 6 7 8 9 0
        var windows = CausalLanguageModelingTask.PackedWindows(rows, separator: 0, blockSize: 4).ToList();
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 0, 4 }, windows[0]);
        CollectionAssert.AreEqual(new[] { 4, 5, 0, 6, 7 }, windows[1]);
        Assert.HasCount(2, windows, "the last partial window (7 8 9 0) is dropped");
        var targets = windows.SelectMany(w => w.Skip(1)).ToArray();
        CollectionAssert.AreEqual(new[] { 2, 3, 0, 4, 5, 0, 6, 7 }, targets);
    }

    [TestMethod]
    public void AnEmptySourceIsRefusedByName()
    {
        using var stream = new StreamedSequences(new Source(0).Open, bufferSize: 4, seed: 1);
        StringAssert.Contains(Assert.Throws<InvalidOperationException>(() => stream.Draw(0, 2)).Message, "holds no sequence");
    }
}
