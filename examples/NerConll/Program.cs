using System.Diagnostics;
using Microsoft.ML;
using Pipelines;
using Microsoft.ML.Data;
using Pipelines.Examples.Common;

// NER on CoNLL-2003 as an ML.NET pipeline: a cased WordPiece vocabulary and a masked-LM pretrained
// on the training sentences' text (no tags), then a tagger fine-tuned from it on the tagged
// sentences; the epoch is chosen on eng.testa and the entity-level report is on eng.testb. The
// tagger is saved as a model zip, loaded in a new MLContext and tags two sentences.
//   dotnet run -c Release --project examples/NerConll -- [--data=folder] [--steps=600] [--epochs=3] [--fraction=0.25] [--device=auto]
// The defaults make a run of minutes; the ner benchmark runs the full-size comparison.

string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
var folder = Arg("data") ?? Conll2003.DefaultFolder;
if (folder is null || !File.Exists(Path.Combine(folder, "eng.train")))
{
    Console.Error.WriteLine("CoNLL-2003 is not shipped with this project: its text derives from the Reuters corpus and is for research use.");
    Console.Error.WriteLine("Put eng.train, eng.testa and eng.testb in shared/data/conll2003 beside the repository, or pass --data=<folder>.");
    return 2;
}
var options = new NerOptions { PretrainSteps = int.Parse(Arg("steps") ?? "600"), Device = Arg("device") ?? "auto" };
var epochs = int.Parse(Arg("epochs") ?? "3");
var fraction = double.Parse(Arg("fraction") ?? "0.25");
var output = Path.Combine("runs", "ner-conll");
var clock = Stopwatch.StartNew();

var train = Conll2003.Read(Path.Combine(folder, "eng.train"));
var dev = Conll2003.Read(Path.Combine(folder, "eng.testa"));
var test = Conll2003.Read(Path.Combine(folder, "eng.testb"));
Console.WriteLine($"CoNLL-2003: {train.Count:N0} training, {dev.Count:N0} validation (testa), {test.Count:N0} test (testb) sentences");

var ml = new MLContext(seed: 1);
var tokenizer = NerExperiment.Tokenizer(train, options);
var pretrained = TrainingDisplay.Run("masked-LM pretraining", progress => NerExperiment.Pretrain(ml, tokenizer, train, options, progress));
var validations = pretrained.Training!.Validations;
Console.WriteLine($"pretrained in {clock.Elapsed.TotalMinutes:F1} min: validation perplexity {validations[0].Perplexity:F0} -> {validations[^1].Perplexity:F0}");
LossCurves.Write(pretrained.Training, output, "pretraining", "Masked-LM pretraining on CoNLL-2003 training text");

var tokenize = NerExperiment.Tokenize(ml, tokenizer, options);
var validation = tokenize.Fit(ml.Data.LoadFromEnumerable(dev)).Transform(ml.Data.LoadFromEnumerable(dev));
var sentences = NerExperiment.Sample(train, fraction);
Console.WriteLine($"fine-tuning the tagger on {sentences.Count:N0} tagged sentences for up to {epochs} epochs ...");
var model = NerExperiment.Tagger(ml, tokenizer, pretrained, sentences, validation, epochs, options);
var metrics = ml.MulticlassClassification.EvaluateEntities(model.Transform(ml.Data.LoadFromEnumerable(test)));
Console.WriteLine();
Console.WriteLine("entity-level scores on eng.testb (exact span and type):");
Console.WriteLine(metrics);

Directory.CreateDirectory(output);
var zip = Path.Combine(output, "tagger.zip");
ml.Model.SaveAtomically(model, null, zip);
var loaded = new MLContext().Model.Load(zip, out _);
var examples = new[]
{
    new TaggedSentence { Sentence = "EU rejects German call to boycott British lamb ." },
    new TaggedSentence { Sentence = "Angela Merkel met officials of the United Nations in Geneva on Monday ." },
};
var tagged = loaded.Transform(ml.Data.LoadFromEnumerable(examples)).GetColumn<VBuffer<ReadOnlyMemory<char>>>("PredictedLabel").ToList();
Console.WriteLine($"saved to {zip}; loaded in a new MLContext, it tags:");
for (var i = 0; i < examples.Length; i++)
    Console.WriteLine("  " + string.Join(' ', examples[i].Sentence.Split(' ').Zip(tagged[i].DenseValues(), (w, t) => t.ToString() == "O" ? w : $"{w}/{t}")));
Console.WriteLine($"total {clock.Elapsed.TotalMinutes:F1} min");
return 0;
