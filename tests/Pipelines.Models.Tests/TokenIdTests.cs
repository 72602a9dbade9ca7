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
}
