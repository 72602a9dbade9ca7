using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Pipelines;
using Pipelines.Models.Checkpoints;
using Pipelines.Models.Training;

// Pretrains a tiny character-level causal LM through the ML.NET estimator, checkpointing every few
// steps and resuming from the latest checkpoint when one exists. Prints "step N" after each
// optimizer step (so a test can kill it at a chosen step) and, at the end, writes into --out:
// weights.safetensors, model.zip (atomically) and metrics.json.
// --reading=streamed reads the corpus line by line (one row each, so that validation rows can be held out)
// as a stream of 33-token windows through a shuffle buffer of 16.
//   Pipelines.Reliability.Worker --corpus=FILE --checkpoints=DIR --out=DIR [--steps=60] [--seed=1] [--every=5] [--reading=inmemory|streamed]
string Arg(string name, string? fallback = null) =>
    args.FirstOrDefault(a => a.StartsWith($"--{name}=", StringComparison.Ordinal))?[(name.Length + 3)..]
    ?? fallback ?? throw new ArgumentException($"--{name}= is required");

var corpus = File.ReadAllText(Arg("corpus"));
var output = Arg("out");
var steps = int.Parse(Arg("steps", "60"), CultureInfo.InvariantCulture);
var seed = int.Parse(Arg("seed", "1"), CultureInfo.InvariantCulture);
TorchSharp.torch.set_num_threads(1); // the same arithmetic in every process, whatever the machine's core count

var tokenizer = TextTokenizer.FromCharacters(CharacterVocabulary.Build([corpus]));
var ml = new MLContext(seed: seed);
var streamed = Arg("reading", "inmemory") == "streamed";
var data = ml.Data.LoadFromEnumerable(streamed
    ? corpus.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => new Document { Text = line }).ToArray()
    : [new Document { Text = corpus }]);
var progress = new Progress(step => Console.WriteLine($"step {step}"));
var model = ml.Transforms.Text.TokenizeSubwords(tokenizer, new TokenizeSubwordsOptions { MaxLength = int.MaxValue, AddSpecialTokens = false })
    .Append(ml.Pretraining.CausalLanguageModel(new CausalLanguageModelOptions
    {
        Tokenizer = tokenizer, Layers = 1, Hidden = 32, Heads = 2, BlockSize = 32, BatchSize = 8, Dropout = 0.1,
        MaxSteps = steps, WarmupSteps = 5, LearningRate = 3e-3, EvaluateEvery = 10, ValidationBatches = 2,
        CheckpointDirectory = Arg("checkpoints"), CheckpointEvery = int.Parse(Arg("every", "5"), CultureInfo.InvariantCulture),
        Resume = true, Seed = seed, Device = "cpu", Progress = progress,
        Reading = streamed ? CorpusReading.Streamed : CorpusReading.InMemory, ShuffleBufferSize = 16,
    }))
    .Fit(data);

var lm = (CausalLanguageModelTransformer)((IEnumerable<ITransformer>)model).Last();
Directory.CreateDirectory(output);
SafeTensors.SaveModule(lm.Model, Path.Combine(output, "weights.safetensors"));
ml.Model.SaveAtomically(model, data.Schema, Path.Combine(output, "model.zip"));
var last = lm.Training!.Validations[^1];
AtomicFile.WriteAllText(Path.Combine(output, "metrics.json"), JsonSerializer.Serialize(new { lm.Training.Steps, ValidationStep = last.Step, ValidationLoss = last.Loss }));
Console.WriteLine("done");
return 0;

internal sealed class Document
{
    public string Text { get; set; } = "";
}

/// <summary>Reports each step synchronously (System.Progress would post to the thread pool, out of order).</summary>
internal sealed class Progress(Action<int> onStep) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value)
    {
        onStep(value.Step);
        Console.Out.Flush();
    }
}
