using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Models.Generation;

namespace Pipelines.Estimators.Tests.Reliability;

/// <summary>
/// One loaded model serving 8 threads at once gives exactly the sequential results: inference
/// shares the model's weights read-only and keeps per-row state in each cursor or engine.
/// </summary>
[TestClass]
public sealed class ConcurrencyTests
{
    private const int Threads = 8;

    private sealed class Prediction
    {
        public float Probability { get; set; }
        public bool PredictedLabel { get; set; }
    }

    private sealed class Embedded
    {
        [VectorType]
        public float[] Embedding { get; set; } = [];
    }

    [TestMethod]
    [Timeout(300_000)]
    public void EightPredictionEnginesOnOneLoadedClassifierMatchTheSequentialResults()
    {
        var ml = new MLContext();
        var model = TinyModels.Load(ml, TinyModels.ClassifierZip);
        var mails = TinyModels.Mails;
        // Sequential reference: one engine over every row (Transform batches, which may differ in the last bit).
        var reference = ml.Model.CreatePredictionEngine<SyntheticMail.Mail, Prediction>(model);
        var expected = mails.Select(m => reference.Predict(m).Probability).ToArray();
        Assert.IsGreaterThan(1, expected.Distinct().Count(), "rows must differ, or a stale row would go unnoticed");

        var results = RunOnThreads(_ =>
        {
            // A PredictionEngine is single-threaded by design: one per thread, all over the one model.
            var engine = ml.Model.CreatePredictionEngine<SyntheticMail.Mail, Prediction>(model);
            return mails.Select(m => engine.Predict(m).Probability).ToArray();
        });
        foreach (var (thread, probabilities) in results.Select((r, i) => (i, r)))
            CollectionAssert.AreEqual(expected, probabilities, $"thread {thread}");
    }

    [TestMethod]
    [Timeout(300_000)]
    public void EightThreadsTransformingWithOneLoadedMaskedLmGetTheSequentialEmbeddings()
    {
        var ml = new MLContext();
        var model = TinyModels.Load(ml, TinyModels.MaskedLmZip);
        var data = TinyModels.Data(ml);
        // Sequential references for both paths: batched (Transform) and one row at a time (engine).
        var batched = model.Transform(data).GetColumn<float[]>("Embedding").ToArray();
        var reference = ml.Model.CreatePredictionEngine<SyntheticMail.Mail, Embedded>(model);
        var oneRow = TinyModels.Mails.Select(m => reference.Predict(m).Embedding).ToArray();

        var results = RunOnThreads(thread =>
        {
            // Half the threads stream through a cursor, half through an engine: both paths share the model.
            if (thread % 2 == 0) return model.Transform(data).GetColumn<float[]>("Embedding").ToArray();
            var engine = ml.Model.CreatePredictionEngine<SyntheticMail.Mail, Embedded>(model);
            return TinyModels.Mails.Select(m => engine.Predict(m).Embedding).ToArray();
        });
        foreach (var (thread, embeddings) in results.Select((r, i) => (i, r)))
            for (var row = 0; row < batched.Length; row++)
                CollectionAssert.AreEqual((thread % 2 == 0 ? batched : oneRow)[row], embeddings[row], $"thread {thread}, row {row}");
    }

    [TestMethod]
    [Timeout(300_000)]
    public void EightThreadsGeneratingAndScoringWithOneLoadedCausalLmGetTheSequentialResults()
    {
        var ml = new MLContext();
        var model = TinyModels.Load(ml, TinyModels.CausalLmZip);
        var lm = (CausalLanguageModelTransformer)((IEnumerable<ITransformer>)model).Last();
        var data = TinyModels.Data(ml);
        var perplexities = model.Transform(data).GetColumn<float>("Perplexity").ToArray();
        string Sample(int seed) => lm.Generate("meeting agenda", new GenerationOptions { MaxNewTokens = 12, Temperature = 1.0, Seed = seed });
        var samples = Enumerable.Range(0, Threads).Select(Sample).ToArray();
        Assert.IsGreaterThan(1, samples.Distinct().Count(), "different seeds should sample differently");

        // Even threads generate (each its own seed), odd threads score every row: at the same time, on one model.
        var results = RunOnThreads(thread => thread % 2 == 0
            ? (object)Sample(thread)
            : model.Transform(data).GetColumn<float>("Perplexity").ToArray());
        for (var thread = 0; thread < Threads; thread++)
            if (thread % 2 == 0) Assert.AreEqual(samples[thread], results[thread], $"thread {thread}");
            else CollectionAssert.AreEqual(perplexities, (float[])results[thread], $"thread {thread}");
    }

    /// <summary>Starts <see cref="Threads"/> threads together (a barrier, so they overlap) and returns their results.</summary>
    [TestMethod]
    [Timeout(300_000)]
    public void OnePredictionEngineSharedByThreadsIsRefusedNotWrong()
    {
        var ml = new MLContext();
        var model = TinyModels.Load(ml, TinyModels.ClassifierZip);
        var mails = TinyModels.Mails;
        var reference = ml.Model.CreatePredictionEngine<SyntheticMail.Mail, Prediction>(model);
        var expected = mails.Select(m => reference.Predict(m).Probability).ToArray();
        var shared = ml.Model.CreatePredictionEngine<SyntheticMail.Mail, Prediction>(model);
        var refused = 0;
        var byMlNet = 0;
        var wrong = 0;
        var outcomes = RunOnThreads(_ =>
        {
            for (var i = 0; i < mails.Count; i++)
            {
                try
                {
                    if (shared.Predict(mails[i]).Probability != expected[i]) Interlocked.Increment(ref wrong);
                }
                catch (InvalidOperationException e) when (e.Message.Contains("PredictionEngine is not thread-safe"))
                {
                    Interlocked.Increment(ref refused);
                }
                catch (Exception)
                {
                    // ML.NET's own input row may fail first ("Collection was modified"): refused too, not wrong.
                    Interlocked.Increment(ref refused);
                    Interlocked.Increment(ref byMlNet);
                }
            }
            return 0;
        });
        Assert.IsGreaterThan(0, refused, "concurrent use is noticed");
        Console.WriteLine($"shared engine: {refused} calls refused ({byMlNet} by ML.NET itself), {wrong} wrong of {Threads * mails.Count}");
    }

    private static T[] RunOnThreads<T>(Func<int, T> work)
    {
        var results = new T[Threads];
        var errors = new Exception?[Threads];
        using var barrier = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(i => new Thread(() =>
        {
            try
            {
                barrier.SignalAndWait();
                results[i] = work(i);
            }
            catch (Exception e)
            {
                errors[i] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (errors.FirstOrDefault(e => e is not null) is { } error) throw new AggregateException("a thread failed", error);
        return results;
    }
}
