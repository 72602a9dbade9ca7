using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.ML;
using Pipelines;
using Pipelines.Examples.Common;
using Pipelines.Models;
using Pipelines.Models.Generation;
using Pipelines.Models.Training;

// nanoGPT's published CPU recipe for Tiny Shakespeare (README of karpathy/nanoGPT: "a loss of
// only 1.88" after about 3 minutes on a laptop CPU; its train.py prints 1.8857), run as an ML.NET
// pipeline: character tokenizer -> causal-LM pretraining. First 90 % of the file trains, the last
// 10 % validates. As in nanoGPT: no biases, the exact GELU. --data trains the same recipe on
// another text; nanoGPT's figures are then left out, as they are not about that text.
//   dotnet run -c Release --project examples/ShakespeareGpt -- [--steps 2000] [--device auto] [--seed 1337] [--gelu exact|tanh] [--bias false|true] [--data file]
// Options take "--name value" or "--name=value"; --help lists them with their defaults.

var command = new ExampleCommand("nanoGPT's Tiny Shakespeare recipe for a CPU as an ML.NET pipeline: character tokenizer, then causal-LM pretraining.");
var stepsOption = command.Add("--steps", 2000, "optimizer steps");
var deviceOption = command.Device();
var dataOption = command.Data(DataFiles.Find(TinyShakespeare.RelativePath) ?? TinyShakespeare.RelativePath, "the text to train on");
var seedOption = command.Seed(1337);
var geluOption = command.Add("--gelu", "exact", "GELU: exact (nanoGPT's) or tanh").AcceptOnlyFromAmong("exact", "tanh");
var biasOption = command.Add("--bias", false, "biases in the linear and norm layers (nanoGPT's recipe has none)");
return command.Run(args, run =>
{
    var text = File.ReadAllText(run.GetRequiredValue(dataOption));
    var seed = run.GetRequiredValue(seedOption);
    var ml = new MLContext(seed: seed);
    var vocabulary = CharacterVocabulary.Build([text]);
    var tokenizer = TextTokenizer.FromCharacters(vocabulary);
    Console.WriteLine($"{text.Length:N0} characters, {tokenizer.VocabSize} token ids ({vocabulary.Symbols.Count} symbols + unknown and special ids)");

    var options = new CausalLanguageModelOptions
    {
        Tokenizer = tokenizer, Layers = 4, Heads = 4, Hidden = 128, BlockSize = 64, BatchSize = 12, Dropout = 0,
        Activation = run.GetRequiredValue(geluOption) == "tanh" ? Activation.GeluTanh : Activation.Gelu, Bias = run.GetRequiredValue(biasOption),
        MaxSteps = run.GetRequiredValue(stepsOption), LearningRate = 1e-3, FinalLearningRateRatio = 0.1, WarmupSteps = 100, Schedule = DecayShape.Cosine,
        Seed = seed, Beta2 = 0.99, WeightDecay = 0.1, GradientClipNorm = 1.0, ValidationFraction = 0.1, ValidationBatches = 20,
        EvaluateEvery = 250, LogEvery = 100, Device = run.GetRequiredValue(deviceOption), Progress = new ConsoleProgress(),
    };
    var clock = Stopwatch.StartNew();
    var data = ml.Data.LoadFromEnumerable(new[] { new Document { Text = text } });
    var pipeline = ml.Transforms.Text.TokenizeSubwords(tokenizer, new TokenizeSubwordsOptions { MaxLength = int.MaxValue, AddSpecialTokens = false })
        .Append(ml.Pretraining.CausalLanguageModel(options));
    var lm = pipeline.Fit(data).LastTransformer;
    var final = lm.Training!.Validations[^1];
    Console.WriteLine();
    // nanoGPT's figures are for its file only: on another text the result stands alone.
    if (TinyShakespeare.Is(text))
    {
        Console.WriteLine($"validation loss {final.Loss:F4} after {lm.Training.Steps} steps; nanoGPT's train.py prints 1.8857 for this recipe at 2,000 steps (seed 1337), its README says 1.88");
        Console.WriteLine($"wall time {clock.Elapsed.TotalSeconds:F0} s (nanoGPT: about 3 minutes on a laptop CPU)");
    }
    else
    {
        Console.WriteLine($"validation loss {final.Loss:F4} after {lm.Training.Steps} steps");
        Console.WriteLine($"wall time {clock.Elapsed.TotalSeconds:F0} s");
    }
    Console.WriteLine();
    Console.WriteLine(lm.Generate("\n", new GenerationOptions { MaxNewTokens = 300, Temperature = 0.8, TopK = 200, Seed = 1 }));
    return 0;
});

/// <summary>Tiny Shakespeare as nanoGPT's data/shakespeare_char/prepare.py downloads it.</summary>
static class TinyShakespeare
{
    public const string RelativePath = "data/tinyshakespeare/input.txt";
    private const int Length = 1_115_394;
    private const string Sha256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed";

    /// <summary>Whether <paramref name="text"/> is that file (its length, then its SHA-256), whatever its path.</summary>
    public static bool Is(string text) =>
        text.Length == Length && Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text))) == Sha256;
}

sealed class Document
{
    public string Text { get; set; } = "";
}

sealed class ConsoleProgress : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress p)
    {
        if (p.Validation is not null || p.Step % 100 == 0) Console.WriteLine(p);
    }
}
