using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Examples.Common;

namespace Pipelines.Examples.Tests;

/// <summary>What the label-efficiency experiment reads (SST-2's files, the head + tail view of a long text) and how it scores averaged probabilities.</summary>
[TestClass]
public sealed class LabelEfficiencyDataTests
{
    [TestMethod]
    public void Sst2RowsKeepTheirSentenceAndLabelAndABadLabelIsRefused()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"sst2-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            File.WriteAllText(Path.Combine(folder, "train.tsv"), "sentence\tlabel\na gorgeous , witty film \t1\nstale and dull \t0\n");
            File.WriteAllText(Path.Combine(folder, "test.tsv"), "sentence\tlabel\nit 's a charming journey .\t1\n");
            var (train, test) = Sst2.Load(folder);
            Assert.AreEqual(2, train.Count, "the header line is not a row");
            Assert.AreEqual("a gorgeous , witty film", train[0].Text);
            Assert.IsTrue(train[0].Label);
            Assert.IsFalse(train[1].Label);
            Assert.AreEqual(0f, train[1].PartialLabel);
            Assert.AreEqual("it 's a charming journey .", test.Single().Text);
            CollectionAssert.AllItemsAreUnique(train.Concat(test).Select(e => e.Id).ToList(), "ids tell labelled rows from unlabelled ones");

            File.WriteAllText(Path.Combine(folder, "test.tsv"), "sentence\tlabel\nno label here\n");
            var error = Assert.Throws<InvalidDataException>(() => Sst2.Load(folder));
            StringAssert.Contains(error.Message, "row 2");
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [TestMethod]
    public void HeadAndTailKeepsTheFirstAndLastWordsOfALongTextOnly()
    {
        var words = Enumerable.Range(1, 30).Select(i => $"w{i}").ToArray();
        var mail = new Email { Id = "spam-1/7", Text = string.Join(" \n", words), Label = true, PartialLabel = 1 };
        var view = LabelEfficiency.HeadAndTail(mail, 4);
        Assert.AreEqual("w1 w2 w3 w4 w27 w28 w29 w30", view.Text);
        Assert.AreEqual((mail.Id, mail.Label, mail.PartialLabel), (view.Id, view.Label, view.PartialLabel));
        Assert.AreSame(mail, LabelEfficiency.HeadAndTail(mail, 15), "a text of no more than 2 x 15 words is read whole");
    }

    [TestMethod]
    public void ProbabilitiesAreScoredInTheTestRowsOrderAtOneHalf()
    {
        var test = new[] { true, true, false, false }.Select((label, i) => new Email { Id = $"m{i}", Label = label }).ToList();
        // Predicted spam: rows 0 and 2, so one hit, one false alarm, one miss: F1 = 2 x 1 / (2 x 1 + 1 + 1) = 0.5.
        // Ranking: of the four spam/ham pairs only (0.4, 0.6) is misordered: AUC = 3 / 4.
        var (f1, auc) = LabelEfficiency.Evaluate(new MLContext(seed: 1), test, [0.9f, 0.4f, 0.6f, 0.1f]);
        Assert.AreEqual(0.5, f1, 1e-9);
        Assert.AreEqual(0.75, auc, 1e-9);
        Assert.Throws<ArgumentException>(() => LabelEfficiency.Evaluate(new MLContext(seed: 1), test, [0.9f, 0.4f, 0.6f]));
    }

    [TestMethod]
    public void ChunkEmbeddingsAverageTheChunksOfTheirOwnRow()
    {
        var rows = new[] { "a b c d e", "", "f g" }.Select((t, i) => new Email { Id = $"m{i}", Text = t }).ToList();
        var whole = LabelEfficiency.Pieces(rows, 0);
        CollectionAssert.AreEqual(new[] { (0, "a b c d e"), (1, ""), (2, "f g") }, whole);
        var chunks = LabelEfficiency.Pieces(rows, 2);
        CollectionAssert.AreEqual(new[] { (0, "a b"), (0, "c d"), (0, "e"), (2, "f g") }, chunks, "the empty text has no chunk");

        var means = LabelEfficiency.MeanByRow(chunks.Select(c => c.Row).ToList(), [[1f, 2f], [3f, 4f], [5f, 9f], [7f, -1f]], rows: 3, width: 2);
        CollectionAssert.AreEqual(new[] { 3f, 5f }, means[0], "(1 + 3 + 5) / 3, (2 + 4 + 9) / 3");
        CollectionAssert.AreEqual(new[] { 0f, 0f }, means[1]);
        CollectionAssert.AreEqual(new[] { 7f, -1f }, means[2], "one chunk: its own vector");
    }

    [TestMethod]
    public void TheFeaturesClassifierReadsTheUnitEmbeddingOnceForEachCopyNextToTheNGrams()
    {
        var ml = new MLContext(seed: 1);
        var rows = new[] { "win free money now", "meeting notes attached", "free prize claim now", "lunch at noon tomorrow" }
            .Select((t, i) => new Email { Id = $"m{i}", Text = t, Label = i % 2 == 0 }).ToList();
        float[][] embeddings = [[3f, 4f], [0f, 2f], [6f, 8f], [1f, 0f]];
        var data = LabelEfficiency.EmbeddedRows(ml, rows, embeddings);
        int Width(int copies) => LabelEfficiency.FeaturesClassifier(ml, copies).Fit(data).Transform(data).Schema["Features"].Type is VectorDataViewType v ? v.Size : -1;
        var ngrams = Width(0);
        Assert.AreEqual(ngrams + 2, Width(1));
        Assert.AreEqual(ngrams + 6, Width(3));
        var first = LabelEfficiency.FeaturesClassifier(ml, 2).Fit(data).Transform(data).GetColumn<float[]>("Features").First();
        CollectionAssert.AreEqual(new[] { 0.6f, 0.8f, 0.6f, 0.8f }, first[..4], "(3, 4) / 5, twice, before the n-grams");
    }
}
