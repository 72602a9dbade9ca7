using TorchSharp;
using System.Diagnostics;
using Pipelines.Models;
using Pipelines.Transforms;
using static TorchSharp.torch;

// Quickstart: pretrain a small character-level GPT on Tiny Shakespeare (shipped in data/) and
// watch the validation loss fall from ln(vocabulary) towards nanoGPT's figures.
//   dotnet run -c Release --project examples/Quickstart -- [--steps 300] [--device auto|cpu|cuda|cuda:N]

var steps = IntOption("--steps", 300);
var deviceOption = StringOption("--device", ComputeDevice.Auto);
var dataPath = StringOption("--data", FindData("data/tinyshakespeare/input.txt"));
const int block = 64, batch = 12, evalBatches = 20;

random.manual_seed(1337);
var device = ComputeDevice.Resolve(deviceOption);
Console.WriteLine($"device: {ComputeDevice.Describe(device)}");

var text = File.ReadAllText(dataPath);
var vocabulary = CharacterVocabulary.Build([text]);
var ids = vocabulary.Encode(text).Select(i => (long)i).ToArray();
var split = (int)(ids.Length * 0.9);
using var train = tensor(ids[..split]);
using var validation = tensor(ids[split..]);
Console.WriteLine($"corpus: {text.Length:N0} characters, vocabulary {vocabulary.Count} ids (65 symbols + unknown); " +
                  $"train {split:N0} / validation {ids.Length - split:N0} tokens");

var config = new TransformerConfig
{
    VocabSize = vocabulary.Count, Layers = 4, Heads = 4, Hidden = 128, FeedForward = 512,
    MaxPositions = block, Dropout = 0, PreLayerNorm = true, LayerNormEpsilon = 1e-5,
};
using var model = new GptLanguageModel(config);
model.to(device);
var optimizer = optim.AdamW(model.parameters(), lr: 1e-3, beta2: 0.99, weight_decay: 0.1);

Console.WriteLine($"model: {model.parameters().Sum(p => p.numel()):N0} parameters; ln(vocabulary) = {Math.Log(vocabulary.Count):F3}");
Console.WriteLine($"step {0,5}  validation loss {EstimateLoss(validation):F4}");
var clock = Stopwatch.StartNew();
for (var step = 1; step <= steps; step++)
{
    using var scope = NewDisposeScope();
    model.train();
    var (x, y) = Batch(train);
    optimizer.zero_grad();
    var loss = GptLanguageModel.Loss(model.forward(x), y);
    loss.backward();
    nn.utils.clip_grad_norm_(model.parameters(), 1.0);
    optimizer.step();
    if (step % 50 == 0 || step == steps)
    {
        var tokensPerSecond = step * batch * block / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"step {step,5}  train loss {loss.item<float>():F4}  {tokensPerSecond:N0} tokens/s");
    }
}
Console.WriteLine($"step {steps,5}  validation loss {EstimateLoss(validation):F4}  ({clock.Elapsed.TotalSeconds:F0} s)");
Console.WriteLine("sample: " + Generate("ROMEO:", 120).ReplaceLineEndings(" / "));

(Tensor X, Tensor Y) Batch(Tensor source)
{
    var starts = randint(0, source.shape[0] - block - 1, [batch]);
    var offsets = arange(block + 1).unsqueeze(0) + starts.unsqueeze(1);   // (B, block + 1)
    var rows = source[offsets];
    return (rows[.., ..^1].to(device), rows[.., 1..].to(device));
}

double EstimateLoss(Tensor source)
{
    using var _ = no_grad();
    model.eval();
    var total = 0.0;
    for (var i = 0; i < evalBatches; i++)
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(source);
        total += GptLanguageModel.Loss(model.forward(x), y).item<float>();
    }
    return total / evalBatches;
}

string Generate(string prompt, int count)
{
    using var _ = no_grad();
    model.eval();
    var context = vocabulary.Encode(prompt).Select(i => (long)i).ToList();
    for (var i = 0; i < count; i++)
    {
        using var scope = NewDisposeScope();
        var window = tensor(context.TakeLast(block).ToArray()).unsqueeze(0).to(device);
        var probabilities = nn.functional.softmax(model.forward(window)[0, -1], 0);
        context.Add(multinomial(probabilities, 1).item<long>());
    }
    return vocabulary.Decode(context.Select(i => (int)i));
}

string StringOption(string name, string fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : fallback;
}

int IntOption(string name, int fallback) =>
    int.TryParse(StringOption(name, ""), out var value) && value > 0 ? value : fallback;

static string FindData(string relative)
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
    return relative;
}
