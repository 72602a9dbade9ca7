using Pipelines.Models.Lora;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pipelines.Models;

/// <summary>The reference models' initialisation (BERT and GPT-2): N(0, std) weights, zero biases, unit LayerNorms.</summary>
public static class WeightInit
{
    /// <summary>Initialises every linear, embedding and LayerNorm inside <paramref name="root"/>.</summary>
    public static void Normal(nn.Module root, double std)
    {
        using var _ = no_grad();
        foreach (var module in root.modules())
        {
            switch (module)
            {
                case LoraLinear linear:
                    nn.init.normal_(linear.Weight, 0, std);
                    if (linear.Bias is not null) nn.init.zeros_(linear.Bias);
                    break;
                case Embedding embedding:
                    nn.init.normal_(embedding.weight!, 0, std);
                    break;
                case LayerNorm norm:
                    if (norm.weight is not null) nn.init.ones_(norm.weight);
                    if (norm.bias is not null) nn.init.zeros_(norm.bias);
                    break;
            }
        }
    }
}
