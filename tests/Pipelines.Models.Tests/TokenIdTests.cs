using Pipelines.Models.Training;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests;

/// <summary>Token ids outside the vocabulary are refused by name before they reach libtorch's index error.</summary>
[TestClass]
public sealed class TokenIdTests
{
    [TestMethod]
    [DataRow(-1L)]
    [DataRow(0L)] // replaced by the vocabulary size: the first id past the end
    public void EncoderAndDecoderRefuseIdsOutsideTheVocabulary(long bad)
    {
        using var scope = NewDisposeScope();
        using var encoder = new BertModel(TinyConfigs.Encoder);
        using var decoder = new GptLanguageModel(TinyConfigs.Decoder);
        foreach (var (name, vocabulary, forward) in new (string, int, Func<Tensor, Tensor>)[]
                 {
                     ("encoder", TinyConfigs.Encoder.VocabSize, ids => encoder.Forward(ids)),
                     ("decoder", TinyConfigs.Decoder.VocabSize, ids => decoder.forward(ids)),
                 })
        {
            var id = bad == 0 ? vocabulary : bad;
            var good = tensor(new long[] { 1, 2, vocabulary - 1 }).unsqueeze(0);
            Assert.AreEqual(3, forward(good).shape[1], name);
            var error = Assert.Throws<ArgumentOutOfRangeException>(() => forward(tensor(new long[] { 1, id, 2 }).unsqueeze(0)), name);
            StringAssert.Contains(error.Message, $"Token id {id} is outside the model's vocabulary of {vocabulary} ids");
        }
    }

    // Training tasks check their rows on the host when they are built, before any step: a model training
    // on an accelerator skips the forward pass's check, which would read the ids back every micro-batch.
    [TestMethod]
    public void TrainingTasksRefuseIdsOutsideTheVocabularyWhenBuilt()
    {
        using var scope = NewDisposeScope();
        var vocabulary = TinyConfigs.Encoder.VocabSize;
        var good = new[] { 1, 2, vocabulary - 1 };
        var bad = new[] { 1, vocabulary, 2 };
        using var encoder = new BertForPreTraining(TinyConfigs.Encoder);
        using var classifier = new BertForSequenceClassification(TinyConfigs.Encoder, labels: 2);
        using var decoder = new GptLanguageModel(TinyConfigs.Decoder);
        (int[], int[]) NoMasking(int[] ids, int[]? _, Random __) => (ids, ids);
        foreach (var (name, build) in new (string, Action<int[]>)[]
                 {
                     ("masked-LM", row => _ = new MaskedLanguageModelingTask(encoder, [good, row], [], NoMasking, 0, 8, 2)),
                     ("classifier", row => new SequenceClassificationTask(classifier, [new(good, null, 0), new(row, null, 1)], [], 0, 8, 2, seed: 1).Dispose()),
                     ("causal-LM", row => new CausalLanguageModelingTask(decoder, [.. Enumerable.Repeat(1L, 20), row.Max() - vocabulary + TinyConfigs.Decoder.VocabSize], null, 4, 2).Dispose()),
                 })
        {
            build(good);
            var error = Assert.Throws<ArgumentOutOfRangeException>(() => build(bad), name);
            StringAssert.Contains(error.Message, "is outside the model's vocabulary", name);
        }
    }
}
