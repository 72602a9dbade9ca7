using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Pipelines.Estimators.Tests.Scoring;

namespace Pipelines.Estimators.Tests.QuestionAnswering;

/// <summary>
/// Extractive question answering: spans found among the tokens and cut from the original text,
/// windows over long contexts, a model that learns toy questions, a zip round trip, the ONNX graph,
/// and rows whose answer is not in the context.
/// </summary>
[TestClass]
public sealed class QuestionAnsweringTests
{
    public sealed class Row
    {
        public string Context { get; set; } = "";
        public string Question { get; set; } = "";
        public string Answer { get; set; } = "";
        public int AnswerStart { get; set; } = -1;
    }

    private static readonly string[] People = ["Alice", "Bruno", "Chen", "Dmitri", "Elena", "Farah", "Goran", "Hana"];
    private static readonly string[] Cities = ["Paris", "Lagos", "Quito", "Osaka", "Perth", "Oslo", "Cairo", "Lima"];
    private static readonly string[] Firms = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Soylent", "Wonka"];
    private static readonly string[] Filler = ["The weather was mild that year.", "Nobody remembers the old bridge.", "Trains ran late on Sundays.",
        "A market opens every morning.", "The river floods in spring."];

    // A person lives in a city and works at a firm, among filler sentences; the question asks for one of the three.
    private static List<Row> Rows(int count, int seed, int filler = 2)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var (person, city, firm) = (People[random.Next(People.Length)], Cities[random.Next(Cities.Length)], Firms[random.Next(Firms.Length)]);
            var sentences = Enumerable.Range(0, filler).Select(_ => Filler[random.Next(Filler.Length)]).ToList();
            sentences.Insert(random.Next(sentences.Count + 1), $"{person} lives in {city} and works at {firm}.");
            var context = string.Join(' ', sentences);
            var (question, answer) = random.Next(3) switch
            {
                0 => ($"Where does {person} live?", city),
                1 => ($"Where does {person} work?", firm),
                _ => ($"Who lives in {city}?", person),
            };
            return new Row { Context = context, Question = question, Answer = answer, AnswerStart = context.IndexOf($"{(answer == person ? "" : " ")}{answer}", StringComparison.Ordinal) + (answer == person ? 0 : 1) };
        }).ToList();
    }

    private static readonly TextTokenizer Tokenizer = WordPieceTrainer.TrainTokenizer(
        Rows(200, 99, filler: 5).SelectMany(r => new[] { r.Context, r.Question }), new WordPieceTrainerOptions { VocabularySize = 200, MinFrequency = 1 });

    private static QuestionAnsweringOptions Options(Action<QuestionAnsweringOptions>? adjust = null)
    {
        var options = new QuestionAnsweringOptions
        {
            Tokenizer = Tokenizer, Layers = 2, Hidden = 32, Heads = 2, MaxLength = 48, MaxEpoch = 8, BatchSize = 16, LearningRate = 3e-3,
            Dropout = 0, Device = "cpu", Seed = 1, ValidationFraction = 0,
        };
        adjust?.Invoke(options);
        return options;
    }

    [TestMethod]
    public void SpansAreFoundAmongTheTokensAndCutFromTheOriginalText()
    {
        const string text = "It opened in 1990. Then  Zoë's café closed!";
        var context = ContextTokens.Encode(Tokenizer, text);
        var span = context.TokenSpan(13, 17);
        Assert.IsNotNull(span);
        Assert.AreEqual((13, 4), context.CharSpan(span.Value.First, span.Value.Last), "\"1990\" without its full stop");
        var cafe = text.IndexOf("café", StringComparison.Ordinal);
        var cafeSpan = context.TokenSpan(cafe, cafe + 4)!.Value;
        Assert.AreEqual("café", text.Substring(context.CharSpan(cafeSpan.First, cafeSpan.Last).Start, context.CharSpan(cafeSpan.First, cafeSpan.Last).Length));
        Assert.IsNull(context.TokenSpan(23, 24), "whitespace holds no token");
    }

    [TestMethod]
    public void WindowsCoverTheContextAndOverlapByTheDocumentOverlap()
    {
        var context = ContextTokens.Encode(Tokenizer, string.Join(' ', Rows(1, 3, filler: 8)[0].Context));
        var question = Tokenizer.Encode("Where does Alice live?", maxLength: 100, addSpecialTokens: false).Ids;
        var windows = QuestionWindow.Make(question, context, Tokenizer, maxLength: 24, overlap: 4);
        Assert.IsGreaterThan(2, windows.Count);
        var room = 24 - question.Length - 3;
        for (var i = 0; i < windows.Count; i++)
        {
            var w = windows[i];
            Assert.IsLessThanOrEqualTo(24, w.Ids.Length);
            Assert.AreEqual(Tokenizer.ClsId, w.Ids[0]);
            Assert.AreEqual(question.Length + 2, w.Offset);
            CollectionAssert.AreEqual(context.Ids.Skip(w.ContextStart).Take(w.ContextLength).ToArray(), w.Ids.Skip(w.Offset).Take(w.ContextLength).ToArray());
            Assert.AreEqual(0, w.Segments[w.Offset - 1]);
            Assert.AreEqual(1, w.Segments[w.Offset]);
            if (i > 0) Assert.AreEqual(windows[i - 1].ContextStart + room - 4, w.ContextStart, "consecutive windows share 4 tokens");
        }
        Assert.AreEqual(context.Ids.Length, windows[^1].ContextStart + windows[^1].ContextLength, "the last window reaches the end");
    }

    [TestMethod]
    public void LearnsToyQuestionsOverSeveralWindowsAndRoundTripsThroughAZip()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(Rows(400, 1));
        // Windows of 32 tokens: each context (about 30 tokens) needs two or three.
        var model = ml.QuestionAnswering.FineTune(Options(o => (o.MaxLength, o.DocumentOverlap) = (32, 8))).Fit(train);
        var test = ml.Data.LoadFromEnumerable(Rows(60, 2));
        var scored = model.Transform(test);
        var metrics = ml.QuestionAnswering.Evaluate(scored);
        Assert.IsGreaterThan(0.9, metrics.ExactMatch, $"EM {metrics.ExactMatch:F3}, F1 {metrics.F1:F3}");
        var answers = scored.GetColumn<ReadOnlyMemory<char>>("PredictedAnswer").Select(a => a.ToString()).ToArray();
        var starts = scored.GetColumn<int>("PredictedAnswerStart").ToArray();
        var scores = scored.GetColumn<float>("PredictedAnswerScore").ToArray();
        var rows = Rows(60, 2);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.AreEqual(answers[i], rows[i].Context.Substring(starts[i], answers[i].Length), "the answer is cut from its context");
            Assert.IsTrue(scores[i] is > 0 and <= 1);
        }
        // Batched scoring (windows of 32 rows padded together) gives what one question alone gives.
        for (var i = 0; i < rows.Count; i++)
        {
            var alone = model.Answer(rows[i].Context, rows[i].Question);
            Assert.AreEqual(answers[i], alone.Text, $"row {i}");
            Assert.AreEqual(scores[i], alone.Score, 1e-4f, $"row {i}");
        }

        using var stream = new MemoryStream();
        ml.Model.Save(model, train.Schema, stream);
        stream.Position = 0;
        var loaded = ml.Model.Load(stream, out _).Transform(test);
        CollectionAssert.AreEqual(answers, loaded.GetColumn<ReadOnlyMemory<char>>("PredictedAnswer").Select(a => a.ToString()).ToArray());
        CollectionAssert.AreEqual(scores, loaded.GetColumn<float>("PredictedAnswerScore").ToArray());
    }

    [TestMethod]
    public void ExportedOnnxGraphGivesTheModelsStartAndEndLogits()
    {
        var ml = new MLContext(seed: 1);
        var model = ml.QuestionAnswering.FineTune(Options(o => o.MaxEpoch = 1)).Fit(ml.Data.LoadFromEnumerable(Rows(32, 1)));
        using var session = new InferenceSession(OnnxDeploymentTests.Export(ml, model));
        Assert.AreEqual("question-answering", session.ModelMetadata.CustomMetadataMap["pipelines.kind"]);
        var row = Rows(1, 5)[0];
        var window = QuestionWindow.Make(Tokenizer.Encode(row.Question, maxLength: 100, addSpecialTokens: false).Ids,
            ContextTokens.Encode(Tokenizer, row.Context), Tokenizer, 48, 8)[0];
        var length = window.Ids.Length;
        using var results = session.Run(new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(window.Ids.Select(i => (long)i).ToArray(), [1, length])),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(window.Segments.Select(i => (long)i).ToArray(), [1, length])),
        });
        var onnx = results.Single().AsTensor<float>().ToArray();
        using var ids = TorchSharp.torch.tensor(window.Ids.Select(i => (long)i).ToArray(), [1, length]);
        using var segments = TorchSharp.torch.tensor(window.Segments.Select(i => (long)i).ToArray(), [1, length]);
        using var _ = TorchSharp.torch.no_grad();
        var (start, end) = model.Model.Forward(ids, null, segments);
        var expectedStart = start.data<float>().ToArray();
        var expectedEnd = end.data<float>().ToArray();
        for (var t = 0; t < length; t++)
        {
            Assert.AreEqual(expectedStart[t], onnx[2 * t], 1e-4f, $"start logit {t}");
            Assert.AreEqual(expectedEnd[t], onnx[2 * t + 1], 1e-4f, $"end logit {t}");
        }
    }

    [TestMethod]
    public void AnswersNotInTheirContextAreCountedAndSkipped()
    {
        var ml = new MLContext(seed: 1);
        var warnings = new List<string>();
        ml.Log += (_, e) => { lock (warnings) warnings.Add(e.Message); };
        var rows = Rows(40, 1);
        foreach (var row in rows.Take(3)) (row.Answer, row.AnswerStart) = ("Atlantis", -1);
        ml.QuestionAnswering.FineTune(Options(o => o.MaxEpoch = 1)).Fit(ml.Data.LoadFromEnumerable(rows));
        Assert.IsTrue(warnings.Any(w => w.Contains("Skipped 3 rows whose answer does not occur in its context (row 0, 1, 2)")), string.Join("\n", warnings.Where(w => w.Contains("Skipped"))));

        var none = ml.Data.LoadFromEnumerable(Rows(10, 1).Select(r => { r.Answer = "Atlantis"; return r; }));
        StringAssert.Contains(Assert.Throws<InvalidOperationException>(() => ml.QuestionAnswering.FineTune(Options()).Fit(none)).Message, "No row has an answer");
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ml.QuestionAnswering.FineTune(Options(o => o.ContextColumnName = "Passage")).Fit(ml.Data.LoadFromEnumerable(rows)));
        StringAssert.Contains(missing.Message, "'Passage'");
    }

    public sealed class Renamed
    {
        public string Passage { get; set; } = "";
        public string Query { get; set; } = "";
        public string[] Golds { get; set; } = [];
        public int Where { get; set; }
    }

    // The city is named twice; the answer is its second mention ("... lives in <city>"), which only AnswerStart says.
    private static List<Renamed> TwiceNamed(int count, int seed, bool twoWordCities = false) => Rows(count, seed, filler: 0).Select(r =>
    {
        var city = r.Context.Split(" lives in ")[1].Split(" and ")[0];
        var person = r.Context.Split(' ')[0];
        var named = twoWordCities ? $"New {city}" : city;
        var context = $"{named} is far away. {person} lives in {named} and works there.";
        return new Renamed { Passage = context, Query = $"Where does {person} live?", Golds = [named], Where = context.LastIndexOf(named, StringComparison.Ordinal) };
    }).ToList();

    [TestMethod]
    public void RenamedColumnsVectorAnswersAndAnswerStartAreHonoured()
    {
        var ml = new MLContext(seed: 1);
        QuestionAnsweringOptions Renaming(string? start) => Options(o => (o.ContextColumnName, o.QuestionColumnName, o.AnswerColumnName, o.AnswerStartColumnName,
            o.PredictedAnswerColumnName) = ("Passage", "Query", "Golds", start, "Reply"));
        var test = ml.Data.LoadFromEnumerable(TwiceNamed(40, 2));
        var expected = TwiceNamed(40, 2).Select(r => r.Where).ToArray();
        int SecondMentions(string? start) => ml.QuestionAnswering.FineTune(Renaming(start)).Fit(ml.Data.LoadFromEnumerable(TwiceNamed(300, 1)))
            .Transform(test).GetColumn<int>("ReplyStart").Zip(expected).Count(p => p.First == p.Second);
        var withStart = ml.QuestionAnswering.FineTune(Renaming("Where")).Fit(ml.Data.LoadFromEnumerable(TwiceNamed(300, 1))).Transform(test);
        Assert.IsGreaterThan(0.9, ml.QuestionAnswering.Evaluate(withStart, labelColumnName: "Golds", predictedColumnName: "Reply").ExactMatch, "vector gold answers");
        Assert.IsGreaterThanOrEqualTo(32, SecondMentions("Where"), "trained on the mention AnswerStart names");
        Assert.IsLessThanOrEqualTo(8, SecondMentions(null), "without AnswerStart the first mention is trained on");
    }

    [TestMethod]
    public void MaxAnswerLengthBoundsThePredictedSpan()
    {
        var ml = new MLContext(seed: 1);
        string[] Answers(int maxAnswerLength) => ml.QuestionAnswering.FineTune(Options(o => (o.ContextColumnName, o.QuestionColumnName, o.AnswerColumnName,
                o.AnswerStartColumnName, o.MaxAnswerLength) = ("Passage", "Query", "Golds", "Where", maxAnswerLength)))
            .Fit(ml.Data.LoadFromEnumerable(TwiceNamed(300, 1, twoWordCities: true))).Transform(ml.Data.LoadFromEnumerable(TwiceNamed(40, 2, twoWordCities: true)))
            .GetColumn<ReadOnlyMemory<char>>("PredictedAnswer").Select(a => a.ToString()).ToArray();
        Assert.IsGreaterThanOrEqualTo(30, Answers(30).Count(a => a.StartsWith("New ")), "two-word answers when the span may be long");
        Assert.IsTrue(Answers(1).All(a => !a.Contains(' ')), "one token at most");
    }

    [TestMethod]
    public void HeadOnlyTrainsTheSpanHeadAlone()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        ml.QuestionAnswering.FineTune(Options(o => (o.Strategy, o.MaxEpoch) = (FineTuneStrategy.HeadOnly, 1))).Fit(ml.Data.LoadFromEnumerable(Rows(32, 1)));
        // qa_outputs: 32 x 2 weights and 2 biases; the encoder is frozen.
        Assert.IsTrue(messages.Any(m => m.Contains("Trainable parameters: 66 of")), string.Join("\n", messages.Where(m => m.Contains("Trainable"))));
    }

    [TestMethod]
    public void WithAllowNoAnswerAnEmptyAnswerIsLearntAsNoAnswer()
    {
        var ml = new MLContext(seed: 1);
        // Questions about a person the context does not mention have no answer.
        var rows = Rows(450, 1).Select((r, i) => i % 3 != 0 ? r : new Row { Context = r.Context, Question = "Where does Zed live?", Answer = "" }).ToList();
        var model = ml.QuestionAnswering.FineTune(Options(o => (o.AllowNoAnswer, o.MaxLength) = (true, 32))).Fit(ml.Data.LoadFromEnumerable(rows));
        var test = Rows(30, 2);
        var answers = test.Select(r => model.Answer(r.Context, "Where does Zed live?")).ToArray();
        var none = answers.Count(a => a.Text == "" && a.Start == -1);
        var answered = test.Count(r => model.Answer(r.Context, r.Question).Text == r.Answer);
        Assert.IsTrue(none >= 20 && answered >= 24, $"{none} of 30 unanswerable questions get no answer, {answered} of 30 answerable ones the right one");
        // Without the option the empty answers are rows not to train on, and every question gets a span.
        var plain = ml.QuestionAnswering.FineTune(Options(o => (o.MaxLength, o.MaxEpoch) = (32, 1))).Fit(ml.Data.LoadFromEnumerable(rows));
        Assert.IsTrue(test.All(r => plain.Answer(r.Context, "Where does Zed live?").Text.Length > 0));
    }
}

/// <summary>SQuAD's exact match and F1 against cases computed by hand.</summary>
[TestClass]
public sealed class QuestionAnsweringMetricsTests
{
    [TestMethod]
    public void NormalisationDropsCasePunctuationArticlesAndExtraSpaces()
    {
        Assert.AreEqual("eiffel tower", QuestionAnsweringMetrics.Normalize("The  Eiffel Tower!"));
        Assert.AreEqual("eiffeltower", QuestionAnsweringMetrics.Normalize("Eiffel-Tower"), "punctuation is removed, not replaced by a space");
        Assert.AreEqual("theory", QuestionAnsweringMetrics.Normalize("a theory"));
        Assert.AreEqual("anthem", QuestionAnsweringMetrics.Normalize("anthem"), "only whole-word articles");
    }

    [TestMethod]
    public void ExactMatchAndF1TakeTheBestGoldAnswer()
    {
        Assert.AreEqual(1.0, QuestionAnsweringMetrics.ExactMatchScore("the Eiffel Tower", "Eiffel Tower."));
        // Shared words eiffel, tower: precision 2/4, recall 2/2, F1 2/3.
        Assert.AreEqual(2.0 / 3, QuestionAnsweringMetrics.F1Score("Eiffel Tower in Paris", "the Eiffel Tower"), 1e-12);
        // Repeated words count as often as both hold them: "paris paris" vs "paris": precision 1/2, recall 1, F1 2/3.
        Assert.AreEqual(2.0 / 3, QuestionAnsweringMetrics.F1Score("Paris Paris", "Paris"), 1e-12);
        Assert.AreEqual(0.0, QuestionAnsweringMetrics.F1Score("London", "Paris"));
        var metrics = QuestionAnsweringMetrics.Compute(["Eiffel Tower in Paris", "1990", ""], [["the Eiffel Tower", "Eiffel Tower in Paris"], ["in 1991"], []]);
        // Question 1: the second gold matches exactly; question 2: no shared word; question 3: no answer, predicted none.
        Assert.AreEqual(2.0 / 3, metrics.ExactMatch, 1e-12);
        Assert.AreEqual(2.0 / 3, metrics.F1, 1e-12);
        Assert.AreEqual(3, metrics.Questions);
        Assert.AreEqual(0.0, QuestionAnsweringMetrics.Compute(["Paris"], [[]]).F1, "an answer where there is none");
    }
}
