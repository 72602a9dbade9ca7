namespace Pipelines.Models.HuggingFace;

/// <summary>What an import did not load one to one. None of it is an error; required tensors that are absent are.</summary>
/// <param name="Missing">Our parameters the file does not provide (e.g. a masked-LM head or pooler); they keep their initial values.</param>
/// <param name="Unused">Tensors of the file that the model has no place for (e.g. a pooler, or another task's classifier), by their names in the file.</param>
/// <param name="Ignored">Buffers in the file that hold no weights (GPT-2's attn.bias / attn.masked_bias masks, BERT's position_ids).</param>
public sealed record HuggingFaceLoadReport(IReadOnlyList<string> Missing, IReadOnlyList<string> Unused, IReadOnlyList<string> Ignored)
{
    /// <summary>True when every parameter was loaded and every tensor of the file was used.</summary>
    public bool IsComplete => Missing.Count == 0 && Unused.Count == 0;
}
