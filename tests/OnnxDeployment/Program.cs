using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines;

// Serving the spam filter without libtorch: our tokenizer, then ML.NET's ApplyOnnxModel running the
// exported network on ONNX Runtime. Reads spam.onnx and spam.tokenizer from the folder given.
var folder = args.Length > 1 ? args[1] : ".";
var mails = ReadMails(args.Length > 0 ? args[0] : "emails.jsonl.gz").ToArray();
new Random(1).Shuffle(mails);                                   // the same 300 test mails as training's
var test = mails.Where(m => m.IsTest).Take(300).ToList();

var ml = new MLContext();
using var tokenizerFile = File.OpenRead(Path.Combine(folder, "spam.tokenizer"));
var tokenizer = TextTokenizer.Load(tokenizerFile);
var data = ml.Data.LoadFromEnumerable(test);
var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 64)
    .Append(ml.Transforms.Conversion.ConvertType("input_ids", "Tokens", DataKind.Int64))
    .Append(ml.Transforms.ApplyOnnxModel("probabilities", "input_ids", Path.Combine(folder, "spam.onnx")))
    .Fit(data);

// probabilities [ham, spam] -> the columns ML.NET's binary evaluator reads.
var scored = ml.Transforms.CustomMapping((Scored s, Decision d) =>
{
    (d.Score, d.Probability) = (MathF.Log(s.Probabilities[1]) - MathF.Log(s.Probabilities[0]), s.Probabilities[1]);
    (d.PredictedLabel, d.IsSpam) = (s.Probabilities[1] > 0.5f, s.Label == 1);
}, contractName: null).Fit(model.Transform(data)).Transform(model.Transform(data));
var metrics = ml.BinaryClassification.Evaluate(scored, labelColumnName: "IsSpam");
Console.WriteLine($"{test.Count} test mails: F1 {metrics.F1Score:F3}, AUC {metrics.AreaUnderRocCurve:F3}");

var engine = ml.Model.CreatePredictionEngine<Mail, Scored>(model);
var spam = engine.Predict(new Mail("Congratulations! You won a FREE cruise, click here to claim your prize", float.NaN, false)).Probabilities[1];
Console.WriteLine($"\"Congratulations! You won a FREE cruise...\": spam {spam > 0.5f}, p = {spam:F3}");

var libtorch = File.Exists("/proc/self/maps") && File.ReadLines("/proc/self/maps").Any(l => l.Contains("libtorch"));
Console.WriteLine($"libtorch loaded in this process: {(libtorch ? "yes" : "no")}");
return libtorch ? 1 : 0;

static IEnumerable<Mail> ReadMails(string path)
{
    using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
    while (reader.ReadLine() is { Length: > 0 } line)
    {
        var mail = JsonDocument.Parse(line).RootElement;
        yield return new Mail($"{mail.GetProperty("subject")}\n{mail.GetProperty("body")}",
            mail.GetProperty("label").GetString() == "spam" ? 1 : 0, mail.GetProperty("split").GetString() == "test");
    }
}

record Mail(string Text, float Label, bool IsTest);

class Scored
{
    public float Label { get; set; }
    [ColumnName("probabilities"), VectorType(2)] public float[] Probabilities { get; set; } = [];
}

class Decision
{
    public float Score { get; set; }
    public float Probability { get; set; }
    public bool PredictedLabel { get; set; }
    public bool IsSpam { get; set; }
}
