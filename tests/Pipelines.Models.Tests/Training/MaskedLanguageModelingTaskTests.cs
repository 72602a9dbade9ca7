using Pipelines.Models.Training;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Training;

[TestClass]
public sealed class MaskedLanguageModelingTaskTests
{
    [TestMethod]
    public void EachRowsWordIdsReachTheMaskingCutLikeItsTokens()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        var model = new BertForPreTraining(TinyConfigs.Encoder);
        // Row r: tokens 10r+1.., word ids r.. (distinct per row, so a mix-up shows); row 2 is longer than MaxLength 6.
        var rows = Enumerable.Range(0, 3).Select(r => Enumerable.Range(1, r == 2 ? 9 : 5).Select(t => 10 * r + t).ToArray()).ToList();
        var words = rows.Select((row, r) => row.Select((_, t) => 100 * r + t).ToArray()).ToList();
        var seen = new List<(int[] Ids, int[]? Words)>();
        (int[], int[]) Record(int[] ids, int[]? wordIds, Random _)
        {
            seen.Add((ids, wordIds));
            var labels = ids.Select(_ => (int)Heads.IgnoreIndex).ToArray();
            labels[1] = ids[1];                                   // one prediction, so the loss is defined
            return (ids, labels);
        }
        var task = new MaskedLanguageModelingTask(model, rows, rows, Record, padId: 0, maxLength: 6, batchSize: 4,
            trainWordIds: words, validationWordIds: words);
        task.Step(0, new Random(1));
        task.Validate(1);
        Assert.HasCount(4 + 3, seen);
        foreach (var (ids, wordIds) in seen)
        {
            var r = ids[0] / 10;
            Assert.IsNotNull(wordIds);
            CollectionAssert.AreEqual(words[r].Take(ids.Length).ToArray(), wordIds, $"row {r}");
            Assert.IsLessThanOrEqualTo(6, ids.Length);
        }
        Assert.Throws<ArgumentException>(() => new MaskedLanguageModelingTask(model, rows, rows, Record, 0, 6, 4, trainWordIds: words.Take(2).ToList()));
    }
}
