using Microsoft.ML;

namespace Pipelines.Estimators.Tests.FineTuning;

/// <summary>
/// The fine-tuning defaults that make the README's pipeline work with few labels (measured in the
/// README's "Defaults" section): a learning rate that suits the strategy, epochs chosen from the
/// number of rows, no validation split too small to mean anything, mean pooling.
/// </summary>
[TestClass]
public sealed class FineTuningDefaultsTests
{
    [TestMethod]
    public void TheLearningRateFollowsTheStrategyUntilSet()
    {
        var options = new TextClassifierOptions();
        Assert.AreEqual(3e-4, options.LearningRate);
        options.Strategy = FineTuneStrategy.LoRA;
        Assert.AreEqual(1e-3, options.LearningRate, "LoRA's adapters take a larger rate");
        options.LearningRate = 5e-5;
        Assert.AreEqual(5e-5, options.LearningRate, "a set rate wins");
        options.Strategy = FineTuneStrategy.Full;
        Assert.AreEqual(5e-5, options.LearningRate);
        Assert.AreEqual(3e-4, new TokenClassifierOptions().LearningRate, "the tagger shares the rule");
        Assert.AreEqual(Pooling.Mean, options.Pooling, "mean pooling reads what masked-LM pretraining trains");
        Assert.IsNull(options.MaxEpoch, "epochs are chosen from the data");
    }

    [TestMethod]
    public void AttentionHeadsAre64WideUnlessSetAndMaskedLMTakesTheSmallModelRate()
    {
        var ml = new MLContext(seed: 1);
        var train = SyntheticMail.Make(40, seed: 1);
        var tokenizer = SyntheticMail.Tokenizer(train);
        var data = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 24).Fit(ml.Data.LoadFromEnumerable(train))
            .Transform(ml.Data.LoadFromEnumerable(train));
        int Heads(int hidden, int heads) => ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
        {
            Layers = 1, Hidden = hidden, Heads = heads, MaxSteps = 1, EvaluateEvery = 0, Device = TestDevice.Option, Seed = 1,
        }).Fit(data).Config.Heads;
        Assert.AreEqual(2, Heads(128, 0), "128 wide: two heads of 64");
        Assert.AreEqual(1, Heads(96, 0), "narrower than two heads: one");
        Assert.AreEqual(4, Heads(128, 4), "a set count wins");
        Assert.AreEqual(1e-3, new MaskedLanguageModelOptions().LearningRate);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Heads(128, -1));
    }

    [TestMethod]
    public void FewRowsGetMoreEpochsAndNoValidationSplitOfAFewRows()
    {
        var ml = new MLContext(seed: 1);
        var logged = new List<string>();
        ml.Log += (_, e) => { lock (logged) logged.Add(e.Message); };
        var train = SyntheticMail.Make(40, seed: 1);
        var tokenizer = SyntheticMail.Tokenizer(train);
        var options = new TextClassifierOptions { Layers = 1, Hidden = 16, Heads = 2, BatchSize = 16, Device = TestDevice.Option, Seed = 1 };
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 24)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(options))
            .Fit(ml.Data.LoadFromEnumerable(train));
        // 40 rows in batches of 16: 3 batches an epoch; 200 steps would take 67 epochs, capped at 30.
        Assert.AreEqual(90, model.LastTransformer.Training!.Steps);
        Assert.IsTrue(logged.Any(m => m.Contains("up to 30 epochs of 3 batches (90 steps), chosen from the number of rows")), string.Join("\n", logged.Where(m => m.Contains("epoch"))));
        // 10 % of 40 rows is 4: too few to validate on, so every row trains and none validates.
        Assert.AreEqual(0, model.LastTransformer.Training.Validations.Count);
        Assert.IsTrue(logged.Any(m => m.Contains("holds out 4 (fewer than 10): training on every row without validation")), string.Join("\n", logged.Where(m => m.Contains("Validation"))));
    }

    [TestMethod]
    public void ManyRowsGetFewerEpochsAndAValidationSplit()
    {
        var ml = new MLContext(seed: 1);
        var train = SyntheticMail.Make(400, seed: 1);
        var tokenizer = SyntheticMail.Tokenizer(train);
        var options = new TextClassifierOptions { Layers = 1, Hidden = 16, Heads = 2, BatchSize = 16, Device = TestDevice.Option, Seed = 1, Patience = 0 };
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 24)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(options))
            .Fit(ml.Data.LoadFromEnumerable(train));
        // 360 training rows (40 validate): 23 batches an epoch; 200 steps take 9 epochs.
        Assert.AreEqual(9 * 23, model.LastTransformer.Training!.Steps);
        Assert.AreEqual(9, model.LastTransformer.Training.Validations.Count, "validated after every epoch");
    }
}
