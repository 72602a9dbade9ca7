using System.Text.Json;
using Pipelines.Models.HuggingFace;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.HuggingFace;

/// <summary>
/// The tiny checkpoints written by Hugging Face transformers (tests/fixtures/huggingface, copied to the
/// test output) and the outputs transformers computed for them.
/// </summary>
internal static class HuggingFaceFixtures
{
    public static string FixtureDirectory(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "huggingface", name);

    public sealed record Reference(long[,] InputIds, long[,] AttentionMask, float[] LastHiddenState, float[] Logits, int Hidden, int Vocabulary)
    {
        public int Batch => InputIds.GetLength(0);
        public int Tokens => InputIds.GetLength(1);
        public Tensor Ids() => tensor(InputIds);
        public Tensor Mask() => tensor(AttentionMask);
    }

    public static Reference ReadReference(string name)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(FixtureDirectory(name), "reference.json")));
        var root = json.RootElement;
        long[,] Matrix(string field)
        {
            var rows = root.GetProperty(field).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
            var result = new long[rows.Length, rows[0].Length];
            for (var i = 0; i < rows.Length; i++) for (var j = 0; j < rows[i].Length; j++) result[i, j] = rows[i][j];
            return result;
        }
        (float[] Values, int Width) Cube(string field)
        {
            var rows = root.GetProperty(field).EnumerateArray().SelectMany(b => b.EnumerateArray()).ToList();
            return ([.. rows.SelectMany(r => r.EnumerateArray().Select(v => (float)v.GetDouble()))], rows[0].GetArrayLength());
        }
        var (hidden, c) = Cube("last_hidden_state");
        var (logits, v) = Cube("logits");
        return new Reference(Matrix("input_ids"), Matrix("attention_mask"), hidden, logits, c, v);
    }

    /// <summary>Largest |ours - reference| over the positions whose attention mask is 1; ours is (B, T, W).</summary>
    public static double MaxDifferenceAtRealTokens(Tensor ours, float[] reference, Reference r)
    {
        var width = (int)ours.shape[2];
        var values = ours.detach().cpu().contiguous().data<float>().ToArray();
        Assert.HasCount(reference.Length, values);
        double worst = 0;
        for (var b = 0; b < r.Batch; b++)
            for (var t = 0; t < r.Tokens; t++)
            {
                if (r.AttentionMask[b, t] == 0) continue;
                var start = (b * r.Tokens + t) * width;
                for (var k = start; k < start + width; k++) worst = Math.Max(worst, Math.Abs(values[k] - reference[k]));
            }
        return worst;
    }

    /// <summary>(last hidden state, logits) of an imported model on the reference's inputs.</summary>
    public static (Tensor Hidden, Tensor Logits) Run(nn.Module model, Reference r)
    {
        using var _ = no_grad();
        var device = model.parameters().First().device;
        var ids = r.Ids().to(device);
        var mask = r.Mask().to(device);
        return model switch
        {
            BertForPreTraining bert => (bert.Bert.Forward(ids, mask), bert.Forward(ids, mask).TokenLogits),
            GptLanguageModel gpt => Gpt(gpt, ids),
            _ => throw new ArgumentException(model.GetType().Name),
        };
        static (Tensor, Tensor) Gpt(GptLanguageModel gpt, Tensor ids)
        {
            var hidden = gpt.Body.forward(ids);
            return (hidden, gpt.Head(hidden));
        }
    }

    /// <summary>A fresh empty directory under the temporary folder.</summary>
    public static string TempDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), $"pipelines-hf-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Runs <paramref name="test"/> in a fresh temporary directory, deleted afterwards.</summary>
    public static void InTemp(Action<string> test)
    {
        var directory = TempDirectory();
        try { test(directory); }
        finally { Directory.Delete(directory, recursive: true); }
    }

    /// <summary>The config.json an export wrote into <paramref name="directory"/>.</summary>
    public static JsonElement ConfigJson(string directory) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "config.json"))).RootElement;

    /// <summary>A copy of a fixture directory that a test may change.</summary>
    public static string CopyOf(string name)
    {
        var target = TempDirectory();
        foreach (var file in Directory.EnumerateFiles(FixtureDirectory(name)))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        return target;
    }

    public static byte[] Bytes(Tensor t) => t.detach().cpu().contiguous().bytes.ToArray();

    public static HuggingFaceCheckpoint Load(string name) => HuggingFaceImport.Load(FixtureDirectory(name));
}
