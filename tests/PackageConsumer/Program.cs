using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;
using Pipelines;

// Spam filtering from mostly unlabelled mail: pretrain a small BERT-style model on the text of
// every mail, fine-tune a classifier on the one mail in ten that has a label, evaluate, save the
// model as an ML.NET zip, load it in a new MLContext and classify.
var mails = ReadMails(args.Length > 0 ? args[0] : "emails.jsonl.gz").ToArray();
new Random(1).Shuffle(mails);                                   // the file is sorted by source
var train = mails.Where(m => !m.IsTest).Take(1200).Select((m, i) => i % 10 == 0 ? m : m with { Label = float.NaN }).ToList();
var test = mails.Where(m => m.IsTest).Take(300).ToList();      // NaN above: no label

var ml = new MLContext(seed: 1);
var data = ml.Data.LoadFromEnumerable(train);
var tokenizer = WordPieceTrainer.TrainTokenizer(train.Select(m => m.Text), new WordPieceTrainerOptions { VocabularySize = 2000 });

// tokenize -> masked-LM pretraining on every row -> classifier fine-tuned on the labelled rows
var pretraining = ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions { Layers = 2, Hidden = 64, MaxSteps = 60 });
var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 64)
    .Append(pretraining)
    .Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions { Base = EncoderSource.FromEstimator(pretraining) }))
    .Fit(data);

var metrics = ml.BinaryClassification.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(test)));
Console.WriteLine($"{test.Count} test mails: F1 {metrics.F1Score:F3}, AUC {metrics.AreaUnderRocCurve:F3}");

ml.Model.Save(model, data.Schema, "spam.zip");
var other = new MLContext();
var loaded = other.Model.Load("spam.zip", out _);
var reloaded = other.BinaryClassification.Evaluate(loaded.Transform(other.Data.LoadFromEnumerable(test)));
Console.WriteLine($"spam.zip loaded in a new MLContext: AUC {reloaded.AreaUnderRocCurve:F3}");
var engine = other.Model.CreatePredictionEngine<Mail, Prediction>(loaded);
var prediction = engine.Predict(new Mail("Congratulations! You won a FREE cruise, click here to claim your prize", float.NaN, false));
Console.WriteLine($"\"Congratulations! You won a FREE cruise...\": spam {prediction.PredictedLabel}, p = {prediction.Probability:F3}");

// For serving without libtorch ("Deploy without libtorch"): the network as ONNX, the tokenizer beside it.
ml.Model.ExportToOnnx(model, "spam.onnx");
using (var file = File.Create("spam.tokenizer")) tokenizer.Save(file);
return reloaded.AreaUnderRocCurve == metrics.AreaUnderRocCurve ? 0 : 1;

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

class Prediction
{
    public bool PredictedLabel { get; set; }
    public float Probability { get; set; }
}
