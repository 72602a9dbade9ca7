using System.Diagnostics;
using Microsoft.ML;
using Pipelines;
using Pipelines.Models;
using Pipelines.Models.Generation;
using Pipelines.Models.Training;

// nanoGPT's published CPU recipe for Tiny Shakespeare (README of karpathy/nanoGPT: "a loss of
// only 1.88" after about 3 minutes on a laptop CPU; its train.py prints 1.8857), run as an ML.NET
// pipeline: character tokenizer -> causal-LM pretraining. First 90 % of the file trains, the last
// 10 % validates. As in nanoGPT: no biases, the exact GELU.
//   dotnet run -c Release --project examples/ShakespeareGpt -- [--steps 2000] [--device auto] [--seed 1337] [--gelu exact|tanh] [--bias false|true]

var steps = Option("--steps", 2000);
var device = Text("--device", "auto");
var path = Text("--data", Find("data/tinyshakespeare/input.txt"));
var text = File.ReadAllText(path);

var seed = Option("--seed", 1337);
var gelu = Text("--gelu", "exact") == "tanh" ? Activation.GeluTanh : Activation.Gelu;
var bias = Text("--bias", "false") == "true";
var ml = new MLContext(seed: seed);
var tokenizer = TextTokenizer.FromCharacters(CharacterVocabulary.Build([text]));
Console.WriteLine($"{text.Length:N0} characters, {tokenizer.VocabSize} token ids (65 symbols + unknown and special ids)");

var options = new CausalLanguageModelOptions
{
    Tokenizer = tokenizer, Layers = 4, Heads = 4, Hidden = 128, BlockSize = 64, BatchSize = 12, Dropout = 0, Activation = gelu, Bias = bias,
    MaxSteps = steps, LearningRate = 1e-3, FinalLearningRateRatio = 0.1, WarmupSteps = 100, Schedule = DecayShape.Cosine, Seed = seed,
    Beta2 = 0.99, WeightDecay = 0.1, GradientClipNorm = 1.0, ValidationFraction = 0.1, ValidationBatches = 20,
    EvaluateEvery = 250, LogEvery = 100, Device = device, Progress = new ConsoleProgress(),
};
var clock = Stopwatch.StartNew();
var data = ml.Data.LoadFromEnumerable(new[] { new Document { Text = text } });
var pipeline = ml.Transforms.Text.TokenizeSubwords(tokenizer, new TokenizeSubwordsOptions { MaxLength = int.MaxValue, AddSpecialTokens = false })
    .Append(ml.Pretraining.CausalLanguageModel(options));
var model = pipeline.Fit(data);
var lm = (CausalLanguageModelTransformer)((IEnumerable<ITransformer>)model).Last();
var final = lm.Training!.Validations[^1];
Console.WriteLine();
Console.WriteLine($"validation loss {final.Loss:F4} after {lm.Training.Steps} steps; nanoGPT's train.py prints 1.8857 for this recipe (seed 1337), its README says 1.88");
Console.WriteLine($"wall time {clock.Elapsed.TotalSeconds:F0} s (nanoGPT: about 3 minutes on a laptop CPU)");
Console.WriteLine();
Console.WriteLine(lm.Generate("\n", new GenerationOptions { MaxNewTokens = 300, Temperature = 0.8, TopK = 200, Seed = 1 }));

int Option(string name, int fallback) => int.TryParse(Text(name, ""), out var v) && v > 0 ? v : fallback;
string Text(string name, string fallback) => Array.IndexOf(args, name) is var i && i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
static string Find(string relative)
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
    return relative;
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
