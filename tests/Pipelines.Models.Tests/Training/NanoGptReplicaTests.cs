using Pipelines.Reference;

namespace Pipelines.Models.Tests.Training;

// An independent reference for the decoder, the loss, AdamW with its weight-decay groups,
// clipping and the schedule: nanoGPT's published log of its Shakespeare-character CPU recipe
// (train.py with seed 1337, as its README's command line runs it). Replaying train.py's random
// stream through our model must print the same losses.
[TestClass]
public sealed class NanoGptReplicaTests
{
    // "iter N: loss L" for N = 0 .. 9, and the evaluations at iterations 0 and 250, from nanoGPT's log.
    private static readonly double[] PublishedIterLosses = [4.1828, 4.1373, 4.1347, 4.0995, 4.0387, 3.9758, 3.9126, 3.8463, 3.8169, 3.7311];

    [TestMethod]
    public void ReplayingNanoGptsRandomStreamGivesItsPublishedLosses()
    {
        var result = NanoGptReplica.Run(File.ReadAllText(Shakespeare), new NanoGptReplica.Settings(), lastIter: 250);

        Assert.AreEqual(4.1676, result.Evaluations[0].TrainLoss, 2e-4, "step 0 train loss");
        Assert.AreEqual(4.1649, result.Evaluations[0].ValLoss, 2e-4, "step 0 val loss");
        for (var i = 0; i < PublishedIterLosses.Length; i++)
            Assert.AreEqual(PublishedIterLosses[i], result.IterLosses[i], 2e-4, $"iter {i} loss");
        Assert.AreEqual(250, result.Evaluations[1].Iter);
        Assert.AreEqual(2.4293, result.Evaluations[1].TrainLoss, 1e-3, "step 250 train loss");
        Assert.AreEqual(2.4447, result.Evaluations[1].ValLoss, 1e-3, "step 250 val loss");
    }

    [TestMethod]
    public void PrepareSplitsAsNanoGptsPrepareScriptDoes()
    {
        var (train, val, vocab) = NanoGptReplica.Prepare(File.ReadAllText(Shakespeare));
        // prepare.py prints: vocab size 65, train has 1,003,854 tokens, val has 111,540 tokens.
        Assert.AreEqual(65, vocab);
        Assert.HasCount(1_003_854, train);
        Assert.HasCount(111_540, val);
        // Ids of the sorted characters ("\n", " ", "!", ... "A" = 13 ... "a" = 39 ...): "First" opens the file.
        CollectionAssert.AreEqual(new long[] { 18, 47, 56, 57, 58 }, train[..5]);
    }

    [TestMethod]
    public void TheLearningRateIsTrainPysGetLr()
    {
        var s = new NanoGptReplica.Settings();
        Assert.AreEqual(1e-3 / 101, NanoGptReplica.LearningRate(0, s), 1e-15, "warmup starts above zero");
        Assert.AreEqual(1e-3, NanoGptReplica.LearningRate(100, s), 1e-15, "cosine starts at the peak");
        Assert.AreEqual(1e-4 + 0.45e-3, NanoGptReplica.LearningRate(1050, s), 1e-12, "half way down");
        Assert.AreEqual(1e-4, NanoGptReplica.LearningRate(2000, s), 1e-15);
    }

    private static string Shakespeare
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var path = Path.Combine(dir.FullName, "data", "tinyshakespeare", "input.txt");
                if (File.Exists(path)) return path;
            }
            throw new FileNotFoundException("data/tinyshakespeare/input.txt is part of the repository and was not found.");
        }
    }
}
