using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Estimators.Tests.Reliability;
using Pipelines.Models.Training;

namespace Pipelines.Estimators.Tests.Generation;

/// <summary>
/// Generation fine-tuning: the row layout that counts only the response in the loss, a model that
/// learns to answer toy prompts and to stop, a zip round trip, a pretrained start, and bad input.
/// </summary>
[TestClass]
public sealed class TextGeneratorTests
{
    public sealed class Row
    {
        public string Prompt { get; set; } = "";
        public string Response { get; set; } = "";
    }

    private static readonly (string Colour, string Fruit)[] Fruits = [("red", "apple"), ("yellow", "banana"), ("green", "lime"), ("purple", "grape")];
    private static readonly string[] Filler = ["give", "me", "one", "please", "now", "the", "some", "fruit", "today", "that"];

    // A colour among filler words asks for "a fresh <fruit>": three words to generate, then stop.
    private static List<Row> Rows(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var (colour, fruit) = Fruits[random.Next(Fruits.Length)];
            var words = Enumerable.Range(0, random.Next(2, 6)).Select(_ => Filler[random.Next(Filler.Length)]).ToList();
            words.Insert(random.Next(words.Count + 1), colour);
            return new Row { Prompt = string.Join(' ', words), Response = $"a fresh {fruit}" };
        }).ToList();
    }

    private static readonly TextTokenizer Tokenizer = WordPieceTrainer.TrainTokenizer(
        Rows(200, 99).SelectMany(r => new[] { r.Prompt, r.Response }), new WordPieceTrainerOptions { VocabularySize = 200, MinFrequency = 1 });

    private static TextGeneratorOptions Options(Action<TextGeneratorOptions>? adjust = null)
    {
        var options = new TextGeneratorOptions
        {
            Tokenizer = Tokenizer, Layers = 2, Hidden = 32, Heads = 2, BlockSize = 16, MaxSteps = 300, BatchSize = 16, LearningRate = 3e-3,
            Dropout = 0, Device = "cpu", Seed = 1, ValidationFraction = 0, Generation = new() { Temperature = 0, MaxNewTokens = 8 },
        };
        adjust?.Invoke(options);
        return options;
    }

    [TestMethod]
    public void LayoutCountsOnlyTheResponseAndItsClosingSeparator()
    {
        var (inputs, targets) = PromptResponseTask.Layout(new PromptResponse([5, 6], [7]), separatorId: 99, blockSize: 10);
        CollectionAssert.AreEqual(new[] { 5, 6, 99, 7 }, inputs);
        CollectionAssert.AreEqual(new[] { -100, -100, 7, 99 }, targets);

        // Too long for a block of 6: the response stays whole, the prompt keeps its beginning.
        (inputs, targets) = PromptResponseTask.Layout(new PromptResponse([1, 2, 3, 4, 5, 6, 7, 8], [40, 41]), separatorId: 99, blockSize: 6);
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 99, 40, 41 }, inputs);
        CollectionAssert.AreEqual(new[] { -100, -100, -100, 40, 41, 99 }, targets);
    }

    [TestMethod]
    public void LearnsToAnswerAndToStopThenRoundTripsThroughAZip()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(Rows(240, 1));
        var model = ml.TextGeneration.FineTune(Options()).Fit(train);
        var test = ml.Data.LoadFromEnumerable(Rows(40, 2));
        var generated = model.Transform(test);
        var metrics = ml.TextGeneration.Evaluate(generated);
        var texts = generated.GetColumn<ReadOnlyMemory<char>>("GeneratedText").Select(t => t.ToString()).ToArray();
        var expected = Rows(40, 2).Select(r => r.Response).ToArray();
        Assert.IsGreaterThanOrEqualTo(36, texts.Zip(expected).Count(p => p.First == p.Second), string.Join(" | ", texts.Take(6)));
        Assert.IsGreaterThan(0.9, metrics.RougeL);
        Assert.AreEqual(40, metrics.Rows);
        Assert.AreEqual(texts[0], model.Generate(Rows(40, 2)[0].Prompt), "Generate gives what the column holds");

        using var stream = new MemoryStream();
        ml.Model.Save(model, train.Schema, stream);
        stream.Position = 0;
        var loaded = ml.Model.Load(stream, out _).Transform(test).GetColumn<ReadOnlyMemory<char>>("GeneratedText").Select(t => t.ToString()).ToArray();
        CollectionAssert.AreEqual(texts, loaded);
    }

    [TestMethod]
    public void GenerationOptionsAndTheOutputColumnNameAreHonoured()
    {
        var ml = new MLContext(seed: 1);
        var model = ml.TextGeneration.FineTune(Options(o => (o.GeneratedColumnName, o.Generation) = ("Subject", new() { Temperature = 0, MaxNewTokens = 1 })))
            .Fit(ml.Data.LoadFromEnumerable(Rows(240, 1)));
        var texts = model.Transform(ml.Data.LoadFromEnumerable(Rows(10, 2))).GetColumn<ReadOnlyMemory<char>>("Subject").Select(t => t.ToString()).ToArray();
        CollectionAssert.AreEqual(Enumerable.Repeat("a", 10).ToArray(), texts, "one new token: the response's first word");
    }

    [TestMethod]
    public void StartsFromAPretrainedCausalModelAndRefusesAnotherTokenizer()
    {
        var ml = new MLContext(seed: 1);
        var pretrained = (CausalLanguageModelTransformer)((TransformerChain<ITransformer>)TinyModels.Load(ml, TinyModels.CausalLmZip)).LastTransformer;
        var rows = TinyModels.Mails.Take(48).Select(m => new Row { Prompt = m.Text, Response = m.Text.Split(' ')[0] }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.TextGeneration.FineTune(Options(o => (o.Tokenizer, o.Base, o.MaxSteps) = (null, pretrained, 2))).Fit(data);
        Assert.AreSame(pretrained.Tokenizer, model.Tokenizer);
        Assert.AreEqual(pretrained.Config with { Dropout = 0 }, model.Model.Config with { Dropout = 0 }, "the base model's architecture");
        var error = Assert.Throws<ArgumentException>(() => ml.TextGeneration.FineTune(Options(o => o.Base = pretrained)).Fit(data));
        StringAssert.Contains(error.Message, "leave Tokenizer null");
    }

    [TestMethod]
    public void BadColumnsAndEmptyResponsesAreNamedOrSkipped()
    {
        var ml = new MLContext(seed: 1);
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ml.TextGeneration.FineTune(Options(o => o.ResponseColumnName = "Answer")).Fit(ml.Data.LoadFromEnumerable(Rows(20, 1))));
        StringAssert.Contains(missing.Message, "'Answer'");
        var numbers = ml.Data.LoadFromEnumerable(Rows(20, 1).Select(r => new { r.Prompt, Response = 1f }));
        StringAssert.Contains(Assert.Throws<ArgumentOutOfRangeException>(() => ml.TextGeneration.FineTune(Options()).Fit(numbers)).Message, "expected String");
        var empty = ml.Data.LoadFromEnumerable(Rows(20, 1).Select(r => new Row { Prompt = r.Prompt, Response = " " }));
        StringAssert.Contains(Assert.Throws<InvalidOperationException>(() => ml.TextGeneration.FineTune(Options()).Fit(empty)).Message, "No row has a response");

        // Rows with empty responses are skipped: the same model as without them.
        var rows = Rows(48, 1);
        var withEmpty = rows.Concat(Rows(10, 5).Select(r => new Row { Prompt = r.Prompt, Response = "" })).ToList();
        var test = ml.Data.LoadFromEnumerable(Rows(8, 2));
        string[] Generate(List<Row> data) => ml.TextGeneration.FineTune(Options(o => o.MaxSteps = 6)).Fit(ml.Data.LoadFromEnumerable(data))
            .Transform(test).GetColumn<ReadOnlyMemory<char>>("GeneratedText").Select(t => t.ToString()).ToArray();
        CollectionAssert.AreEqual(Generate(rows), Generate(withEmpty));
    }
}

/// <summary>ROUGE-L and BLEU against cases computed by hand.</summary>
[TestClass]
public sealed class GenerationMetricsTests
{
    [TestMethod]
    public void RougeLIsTheLongestCommonSubsequencesF1()
    {
        // LCS "the cat on the mat": 5 of 6 words each way.
        Assert.AreEqual(5.0 / 6, GenerationMetrics.SentenceRougeL("the cat sat on the mat", "the cat is on the mat"), 1e-12);
        // LCS "the gunman": precision 2/4, recall 2/7, F1 = 4/11.
        Assert.AreEqual(4.0 / 11, GenerationMetrics.SentenceRougeL("police killed the gunman", "the gunman was shot dead by police"), 1e-12);
        Assert.AreEqual(1.0, GenerationMetrics.SentenceRougeL("Hello, World!", "hello world"), 1e-12, "case and punctuation are not words");
        Assert.AreEqual(0.0, GenerationMetrics.SentenceRougeL("a b", "c d"));
        Assert.AreEqual(0.0, GenerationMetrics.SentenceRougeL("", "c d"));
        Assert.AreEqual(1.0, GenerationMetrics.SentenceRougeL("", "..."), "both empty");
    }

    [TestMethod]
    public void BleuPoolsClippedNGramPrecisionsWithBrevityPenaltyAndExpSmoothing()
    {
        Assert.AreEqual(1.0, GenerationMetrics.Compute(["the cat sat on the mat"], ["the cat sat on the mat"]).Bleu, 1e-12);
        // Precisions 5/6, 3/5, 1/4 and no 4-gram match of 3: smoothed to 1 / (2 x 3); equal lengths, no penalty.
        Assert.AreEqual(Math.Pow(5.0 / 6 * 3 / 5 * 1 / 4 * 1 / 6, 0.25),
            GenerationMetrics.Compute(["the cat sat on the mat"], ["the cat is on the mat"]).Bleu, 1e-12);
        // Clipping: four "the" match the reference's two only (2/4); no 2-, 3- or 4-gram matches, smoothed
        // to 1/(2 x 3), 1/(4 x 2) and 1/(8 x 1).
        var clipped = GenerationMetrics.Compute(["the the the the"], ["the cat the mat"]);
        Assert.AreEqual(Math.Pow(2.0 / 4 * (1.0 / 6) * (1.0 / 8) * (1.0 / 8), 0.25), clipped.Bleu, 1e-12);
        // Shorter than the reference: precisions 1, penalty exp(1 - 6/4).
        Assert.AreEqual(Math.Exp(1 - 6.0 / 4), GenerationMetrics.Compute(["the cat sat on"], ["the cat sat on the mat"]).Bleu, 1e-12);
        Assert.AreEqual(0.0, GenerationMetrics.Compute(["the cat"], ["the cat sat on the mat"]).Bleu, "no 3-gram at all");
        // Pooled over rows: the RougeL is the rows' mean.
        var two = GenerationMetrics.Compute(["a b c d", "x y"], ["a b c d", "z w"]);
        Assert.AreEqual(0.5, two.RougeL, 1e-12);
        Assert.AreEqual(2, two.Rows);
    }
}
