using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Estimators.Tests.Reliability;

namespace Pipelines.Estimators.Tests.Scoring;

/// <summary>
/// Transform scores rows in length-sorted batches; every value must equal scoring the row alone
/// (the PredictionEngine path), in the input's row order, across several batches and windows.
/// </summary>
[TestClass]
public sealed class BatchedScoringTests
{
    // More rows than one look-ahead window, of many lengths, so that batches pad and windows turn over.
    private static readonly List<SyntheticMail.Mail> Mails =
        Enumerable.Range(0, 2).SelectMany(_ => TinyModels.Mails).Concat(Shortened(SyntheticMail.Make(120, seed: 5))).ToList();

    /// <summary>The mails cut to 1 to 12 words, so that rows differ in length and batches pad.</summary>
    internal static IEnumerable<SyntheticMail.Mail> Shortened(IEnumerable<SyntheticMail.Mail> mails) =>
        mails.Select((m, i) => new SyntheticMail.Mail { Text = string.Join(' ', m.Text.Split(' ').Take(1 + i % 12)), Label = m.Label });

    [TestMethod]
    [DataRow("classifier", "Probability")]
    [DataRow("classifier", "Score")]
    [DataRow("masked-lm", "Embedding")]
    [DataRow("masked-lm", "FilledText")]
    [DataRow("causal-lm", "Embedding")]
    [DataRow("causal-lm", "Perplexity")]
    public void BatchedValuesEqualOneRowValuesInRowOrder(string kind, string column)
    {
        var ml = new MLContext();
        var model = TinyModels.Load(ml, kind switch
        {
            "classifier" => TinyModels.ClassifierZip,
            "masked-lm" => TinyModels.MaskedLmZip,
            _ => TinyModels.CausalLmZip,
        });
        var data = ml.Data.LoadFromEnumerable(kind == "masked-lm" ? WithMasks(Mails) : Mails);
        Assert.IsGreaterThan(ScoredBatchesWindow, Mails.Count);
        Assert.IsGreaterThan(5, model.Transform(data).GetColumn<VBuffer<int>>("Tokens").Select(t => t.Length).Distinct().Count(), "rows of many lengths");
        AssertEqual(OneRowAtATime(model, data, column), Values(model.Transform(data), column), $"{kind} {column}");
    }

    [TestMethod]
    public void SentencePairClassifierBatchesEqualOneRow()
    {
        var ml = new MLContext(seed: 1);
        var pairs = Mails.Select((m, i) => new Pair { Text = m.Text, Second = Mails[(i * 7) % Mails.Count].Text, Label = m.Label }).ToList();
        var data = ml.Data.LoadFromEnumerable(pairs);
        var model = ml.Transforms.Text.TokenizeSubwords(TinyModels.Tokenizer, new TokenizeSubwordsOptions { PairColumnName = "Second", MaxLength = 24 })
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
            {
                Tokenizer = TinyModels.Tokenizer, SegmentColumnName = "Tokens.SegmentIds", Layers = 1, Hidden = 16, Heads = 2, MaxLength = 24,
                MaxEpoch = 1, BatchSize = 16, Device = "cpu", Seed = 1, Dropout = 0,
            }))
            .Fit(ml.Data.LoadFromEnumerable(pairs.Take(64)));
        AssertEqual(OneRowAtATime(model, data, "Probability"), Values(model.Transform(data), "Probability"), "pairs");
    }

    [TestMethod]
    public void TaggerBatchesEqualOneRow()
    {
        var ml = new MLContext(seed: 1);
        var train = SyntheticNer.Make(64, seed: 1);
        var tokenizer = SyntheticNer.Tokenizer(train);
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Sentence", tokenizer, maxLength: 32)
            .Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(new TokenClassifierOptions
            {
                Tokenizer = tokenizer, Layers = 1, Hidden = 16, Heads = 2, MaxLength = 32, MaxEpoch = 2, BatchSize = 16,
                LearningRate = 3e-3, Device = "cpu", Seed = 3, Dropout = 0,
            }))
            .Fit(ml.Data.LoadFromEnumerable(train));
        var data = ml.Data.LoadFromEnumerable(SyntheticNer.Make(300, seed: 2));
        AssertEqual(OneRowAtATime(model, data, "PredictedLabel"), Values(model.Transform(data), "PredictedLabel"), "tagger");
    }

    [TestMethod]
    public void AScoringBatchSizeOfOneIsTheOneRowPathBitForBit()
    {
        var ml = new MLContext();
        var chain = (TransformerChain<ITransformer>)TinyModels.Load(ml, TinyModels.ClassifierZip);
        var classifier = (TextClassificationTransformer)chain.LastTransformer;
        var data = ml.Data.LoadFromEnumerable(Mails);
        var oneRow = OneRowAtATime(chain, data, "Probability").Cast<float>().ToArray();
        Assert.AreEqual(32, classifier.ScoringBatchSize);
        var batched = chain.Transform(data).GetColumn<float>("Probability").ToArray();
        Assert.IsTrue(oneRow.Zip(batched).Any(p => p.First != p.Second), "padded batches of 32 differ from one row in the last bits somewhere");
        classifier.ScoringBatchSize = 1;
        CollectionAssert.AreEqual(oneRow, chain.Transform(data).GetColumn<float>("Probability").ToArray(), "batches of one row are the one-row path");
        Assert.AreEqual("ScoringBatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => classifier.ScoringBatchSize = 0).ParamName);
    }

    [TestMethod]
    public void ACursorReadingNoModelOutputOpensNoLookAhead()
    {
        var ml = new MLContext();
        var model = TinyModels.Load(ml, TinyModels.ClassifierZip);
        var counted = new CursorCounter(ml.Data.LoadFromEnumerable(Mails));
        var scored = model.Transform(counted);
        _ = scored.GetColumn<string>("Text").Count();
        Assert.AreEqual(1, counted.Cursors, "pass-through columns only");
        _ = scored.GetColumn<float>("Probability").Count();
        Assert.AreEqual(3, counted.Cursors, "a scoring cursor reads its rows ahead through a second cursor");
    }

    [TestMethod]
    public void EvaluationOfBatchedScoresEqualsEvaluationOfOneRowScores()
    {
        var ml = new MLContext();
        var model = TinyModels.Load(ml, TinyModels.ClassifierZip);
        var data = ml.Data.LoadFromEnumerable(Mails);
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(data));
        var oneRow = OneRowAtATime(model, data, "Probability").Cast<float>().ToArray();
        var labels = Mails.Select(m => m.Label).ToArray();
        var accuracy = labels.Zip(oneRow, (l, p) => l == p > 0.5f).Average(ok => ok ? 1.0 : 0.0);
        Assert.AreEqual(accuracy, metrics.Accuracy, 1e-12);
    }

    private const int ScoredBatchesWindow = 8 * 32;

    private static List<SyntheticMail.Mail> WithMasks(List<SyntheticMail.Mail> mails) =>
        mails.Select((m, i) => i % 3 == 0 ? new SyntheticMail.Mail { Text = "[MASK] " + m.Text, Label = m.Label } : m).ToList();

    private sealed class Pair
    {
        public string Text { get; set; } = "";
        public string Second { get; set; } = "";
        public bool Label { get; set; }
    }

    // The PredictionEngine's path: the chain's row-to-row mapper, one input row at a time.
    private static List<object> OneRowAtATime(ITransformer model, IDataView data, string column)
    {
        var mapper = model.GetRowToRowMapper(data.Schema);
        var output = mapper.OutputSchema[column];
        var values = new List<object>();
        using var cursor = data.GetRowCursor(data.Schema);
        var row = mapper.GetRow(cursor, [output]); // reads the cursor's current row; disposing it would close the cursor
        var read = Reader(row, output);
        while (cursor.MoveNext()) values.Add(read());
        return values;
    }

    private static List<object> Values(IDataView scored, string column)
    {
        var values = new List<object>();
        using var cursor = scored.GetRowCursor([scored.Schema[column]]);
        var read = Reader(cursor, scored.Schema[column]);
        while (cursor.MoveNext()) values.Add(read());
        return values;
    }

    private static Func<object> Reader(DataViewRow row, DataViewSchema.Column column)
    {
        switch (column.Type)
        {
            case VectorDataViewType { ItemType: TextDataViewType }:
                var texts = row.GetGetter<VBuffer<ReadOnlyMemory<char>>>(column);
                return () => { VBuffer<ReadOnlyMemory<char>> v = default; texts(ref v); return string.Join(" ", v.DenseValues()); };
            case VectorDataViewType:
                var vector = row.GetGetter<VBuffer<float>>(column);
                return () => { VBuffer<float> v = default; vector(ref v); return v.DenseValues().ToArray(); };
            case TextDataViewType:
                var text = row.GetGetter<ReadOnlyMemory<char>>(column);
                return () => { ReadOnlyMemory<char> v = default; text(ref v); return v.ToString(); };
            default:
                var value = row.GetGetter<float>(column);
                return () => { float v = 0; value(ref v); return v; };
        }
    }

    private static void AssertEqual(List<object> oneRow, List<object> batched, string what)
    {
        Assert.HasCount(oneRow.Count, batched, what);
        for (var i = 0; i < oneRow.Count; i++)
        {
            var (a, b) = (oneRow[i], batched[i]);
            switch (a)
            {
                case float[] x:
                    var y = (float[])b;
                    Assert.HasCount(x.Length, y, $"{what} row {i}");
                    for (var j = 0; j < x.Length; j++) Assert.AreEqual(x[j], y[j], 1e-4f, $"{what} row {i} slot {j}");
                    break;
                case float x:
                    if (float.IsNaN(x)) Assert.IsTrue(float.IsNaN((float)b), $"{what} row {i}");
                    else Assert.AreEqual(x, (float)b, 1e-4f * Math.Max(1, Math.Abs(x)), $"{what} row {i}");
                    break;
                default:
                    Assert.AreEqual(a, b, $"{what} row {i}");
                    break;
            }
        }
    }

    // Counts the cursors opened on the input.
    private sealed class CursorCounter(IDataView inner) : IDataView
    {
        public int Cursors;
        public bool CanShuffle => inner.CanShuffle;
        public DataViewSchema Schema => inner.Schema;
        public long? GetRowCount() => inner.GetRowCount();
        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            Cursors++;
            return inner.GetRowCursor(columnsNeeded, rand);
        }
        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        {
            Cursors++;
            return [inner.GetRowCursor(columnsNeeded, rand)];
        }
    }
}
