//! # torch for Rust users: a phrasebook
//!
//! Every torch call cotangent supports, with its Rust spelling. Free functions live at the
//! crate root (`cotangent::matmul`); most are also `Tensor` methods. Dims may be negative,
//! as in torch. Where Rust needs a distinct name (no overloading, no keyword arguments) the
//! table says so.
//!
//! ## Creating tensors
//!
//! | torch | cotangent |
//! |---|---|
//! | `torch.tensor([[1., 2.], [3., 4.]])` | `Tensor::new([[1.0f32, 2.0], [3.0, 4.0]])` |
//! | `torch.tensor(data).reshape(shape)` | `Tensor::from_vec(data, &shape)?` / `Tensor::from_slice(&data, &shape)?` |
//! | `torch.tensor(3.0)` | `Tensor::scalar(3.0f32)` |
//! | `torch.zeros(2, 3)`, `torch.ones(2, 3)` | `Tensor::zeros(&[2, 3])`, `Tensor::ones(&[2, 3])` |
//! | `torch.full((2, 3), 7., dtype=...)` | `Tensor::full(&[2, 3], 7.0, DType::F64)` |
//! | `torch.zeros_like(x)`, `ones_like`, `full_like` | `x.zeros_like()`, `x.ones_like()`, `x.full_like(v)` |
//! | `torch.arange(5)` | `Tensor::arange(5)` (int64) |
//! | `torch.arange(0., 1., .25, dtype=...)` | `Tensor::arange_step(0.0, 1.0, 0.25, DType::F32)` |
//! | `torch.linspace(0, 1, 5)` | `Tensor::linspace(0.0, 1.0, 5)` |
//! | `torch.eye(n, m)` | `Tensor::eye(n, m)` |
//! | `x.tolist()` / `x.item()` | `x.to_vec::<f32>()` / `x.item::<f32>()` |
//! | `x.shape`, `x.size(d)`, `x.dim()`, `x.numel()`, `x.dtype` | `x.shape()`, `x.size(d)`, `x.dim()`, `x.numel()`, `x.dtype()` |
//! | `x.to(torch.float64)` | `x.to_dtype(DType::F64)` |
//! | `torch.allclose(a, b, rtol, atol)` | `a.allclose(&b, rtol, atol)` |
//! | `print(x)` | `println!("{x}")` (same format) |
//!
//! ## Random numbers
//!
//! | torch | cotangent |
//! |---|---|
//! | `torch.manual_seed(s)`, `torch.initial_seed()` | `manual_seed(s)`, `initial_seed()` |
//! | `torch.get_rng_state()`, `set_rng_state` | `get_rng_state()`, `set_rng_state(state)` |
//! | `torch.rand(shape)`, `torch.randn(shape)` | `Tensor::rand(&shape)`, `Tensor::randn(&shape)` (also `rand(&shape, dtype)`) |
//! | `torch.randint(lo, hi, shape)` | `randint(lo, hi, &shape)` |
//! | `torch.bernoulli(p)` | `bernoulli(&p)` / `p.bernoulli()` |
//! | `torch.randperm(n)` | `randperm(n)` |
//! | `torch.rand_like(x)`, `randn_like` | `x.rand_like()`, `x.randn_like()` |
//!
//! ## Elementwise
//!
//! | torch | cotangent |
//! |---|---|
//! | `a + b`, `a - b`, `a * b`, `a / b`, `-a` | the same operators on `&Tensor`, `Tensor`, `f64` and `i64` scalars |
//! | `torch.add/sub/mul/div(a, b)` | `add(&a, &b)`, ... |
//! | `x.sin()`, `cos`, `tan`, `tanh`, `exp`, `expm1`, `log`, `log1p`, `sqrt`, `rsqrt`, `reciprocal`, `abs`, `sign`, `erf`, `floor`, `ceil`, `round`, `sigmoid` | same names, as methods and free functions |
//! | `torch.pow(x, y)`, `x ** 2.5`, `x ** 2` | `pow(&x, &y)`, `x.pow_scalar(2.5)`, `x.pow_scalar_int(2)` |
//! | `torch.maximum`, `minimum`, `remainder`, `fmod`, `atan2` | same names |
//! | `a == b`, `!=`, `<`, `<=`, `>`, `>=` | `eq(&a, &b)`, `ne`, `lt`, `le`, `gt`, `ge`; scalars: `x.gt_scalar(0.0)` |
//! | `torch.logical_and/or/xor/not`, `~mask` | same names, `!mask` |
//! | `torch.where(c, x, y)`, `x.where(c, y)` | `where_(&c, &x, &y)`, `x.where_cond(&c, &y)` |
//! | `torch.clamp(x, lo, hi)` | `x.clamp(Some(lo), Some(hi))`, `x.clamp_tensor(..)` |
//! | `F.relu`, `F.gelu(x, approximate=)`, `F.silu`, `F.softplus`, `F.leaky_relu`, `F.hardtanh`, `F.logsigmoid` | `relu`, `gelu(&x, "none" \| "tanh")`, `silu`, `softplus`, `leaky_relu`, `hardtanh`, `log_sigmoid` |
//!
//! ## Reductions
//!
//! | torch | cotangent |
//! |---|---|
//! | `x.sum()`, `x.sum(dims, keepdim)` | `x.sum()`, `x.sum_dim(&dims, keepdim)` |
//! | `x.mean()`, `x.mean(dims, keepdim)` | `x.mean()`, `x.mean_dim(&dims, keepdim)` |
//! | `x.prod()`, `x.prod(dim, keepdim)` | `x.prod()`, `x.prod_dim(dim, keepdim)` |
//! | `x.max()`, `x.min()` | `x.max()`, `x.min()` |
//! | `torch.max(x, dim)` (values, indices) | `x.max_dim(dim, keepdim)`, `x.min_dim(..)` |
//! | `torch.amax(x, dims, keepdim)`, `amin` | `x.amax(&dims, keepdim)`, `x.amin(..)` |
//! | `torch.argmax(x, dim, keepdim)`, `argmin` | `x.argmax(Some(dim), keepdim)`, `x.argmin(..)` |
//! | `x.var(correction=1)`, `x.std()` | `x.var()`, `x.std()`, `var(&x, Some(&dims), correction, keepdim)` |
//! | `torch.logsumexp(x, dims, keepdim)` | `logsumexp(&x, &dims, keepdim)` |
//! | `x.softmax(dim)`, `x.log_softmax(dim)` | `x.softmax(dim)`, `x.log_softmax(dim)` |
//! | `x.any()`, `x.all()` | `x.any()`, `x.all()`, `x.any_dim(..)`, `x.all_dim(..)` |
//! | `torch.cumsum(x, dim)` | `x.cumsum(dim)` |
//!
//! ## Shapes and views (views share the buffer; no copy)
//!
//! | torch | cotangent |
//! |---|---|
//! | `x.reshape(2, -1)`, `x.view(...)` | `x.reshape(&[2, -1])`, `x.view(&[..])` |
//! | `x.flatten(s, e)`, `x.unflatten(d, sizes)` | `x.flatten(s, e)`, `x.unflatten(d, &sizes)` |
//! | `x.squeeze()`, `x.squeeze(d)`, `x.unsqueeze(d)` | `x.squeeze()`, `x.squeeze_dim(d)`, `x.unsqueeze(d)` |
//! | `x.permute(2, 0, 1)`, `x.transpose(a, b)`, `x.t()`, `x.mT` | `x.permute(&[2, 0, 1])`, `x.transpose(a, b)`, `x.t()`, `x.mT()` |
//! | `x.movedim(s, d)` | `x.movedim(s, d)` |
//! | `x.expand(3, -1)`, `x.expand_as(y)`, `torch.broadcast_to(x, s)` | `x.expand(&[3, -1])`, `x.expand_as(&y)`, `x.broadcast_to(&s)` |
//! | `x[:, a:b:c]`, `x.narrow(d, s, n)`, `x[i]` / `x.select(d, i)` | `x.slice(1, a, b, c)`, `x.narrow(d, s, n)`, `x.select(d, i)` |
//! | `x.unbind(d)` | `x.unbind(d)` |
//! | `x.contiguous()`, `x.is_contiguous()` | the same |
//! | `torch.cat(xs, d)`, `torch.stack(xs, d)` | `cat(&xs, d)`, `stack(&xs, d)` |
//! | `torch.split(x, n, d)`, `split(x, sizes, d)`, `torch.chunk(x, k, d)` | `split(&x, n, d)`, `split_with_sizes(&x, &sizes, d)`, `chunk(&x, k, d)` |
//! | `torch.flip`, `x.repeat`, `hstack`, `vstack` | same names |
//! | `F.pad(x, (l, r, t, b), value=v)` | `pad(&x, &[l, r, t, b], v)` |
//!
//! ## Indexing
//!
//! | torch | cotangent |
//! |---|---|
//! | `torch.gather(x, d, idx)` | `gather(&x, d, &idx)` |
//! | `torch.take_along_dim(x, idx, d)` | `take_along_dim(&x, &idx, Some(d))` |
//! | `torch.index_select(x, d, idx)` | `index_select(&x, d, &idx)` |
//! | `x.scatter_add(d, idx, src)` (out of place) | `scatter_add(&x, d, &idx, &src)` |
//! | `F.one_hot(t, n)` | `one_hot(&t, n)` |
//!
//! ## Linear algebra and networks
//!
//! | torch | cotangent |
//! |---|---|
//! | `a @ b`, `torch.matmul` | `a.matmul(&b)`, `matmul(&a, &b)` |
//! | `torch.mm`, `bmm`, `mv`, `dot`, `outer` | same names |
//! | `torch.tensordot(a, b, dims=(da, db))` | `tensordot(&a, &b, &da, &db)` |
//! | `jax.lax.dot_general` | `dot_general(&a, &b, (ca, cb), (ba, bb))` |
//! | `F.linear(x, w, b)` | `linear(&x, &w, Some(&b))` |
//! | `F.conv2d(x, w, b, stride, padding, dilation, groups)` | `conv2d(&x, &w, Some(&b), stride, padding, dilation, groups)` |
//! | `F.max_pool2d(x, k, stride, padding, dilation, ceil_mode)` | `max_pool2d(&x, k, stride, padding, dilation, ceil_mode)` |
//!
//! ## Transforms (torch.func)
//!
//! Arguments are pytrees: a tuple stands for several positional arguments, `UNMAPPED` is
//! torch's `None` in `in_dims`. Options torch passes as keywords go in an options value.
//!
//! | torch.func | cotangent |
//! |---|---|
//! | `grad(f)(x)` | `grad(f)(x)` (result: the first argument's type) |
//! | `grad(f, argnums=(1, 0), has_aux=True)(x, y)` | `grad_with(f, GradOpts::new().argnums((1, 0)).has_aux(true))((x, y))` (annotate the result type) |
//! | `grad_and_value(f)(x)` | `grad_and_value(f)(x)`, `grad_and_value_with(f, opts)` |
//! | `out, vjp_fn = vjp(f, x); vjp_fn(ct)` | `let (out, vjp_fn) = vjp(f, x); vjp_fn.call(ct)` |
//! | `vjp(f, x, has_aux=True)` | `vjp_with_aux(f, x)` |
//! | `jvp(f, (x,), (t,), strict=True)` | `jvp(f, x, t)`, `jvp_with(f, x, t, JvpOpts { strict: true })`, `jvp_with_aux` |
//! | `linearize(f, x)` | `linearize(f, x)` |
//! | `jacrev(f, argnums, has_aux=, chunk_size=)(x)` | `jacrev(f)(x)`, `jacrev_with(f, JacrevOpts::new().argnums(..).has_aux(..).chunk_size(k))` |
//! | `jacfwd(f, argnums, has_aux=, randomness=)(x)` | `jacfwd(f)(x)`, `jacfwd_with(f, JacfwdOpts::new().randomness(Randomness::Same))` |
//! | `hessian(f, argnums)(x)` | `hessian(f)(x)`, `hessian_with(f, HessianOpts::new().argnums(..))` |
//! | `vmap(f, in_dims=(None, 0), out_dims=1, randomness="different", chunk_size=k)` | `vmap_with(f, VmapOpts::new().in_dims((UNMAPPED, 0)).out_dims(1).randomness(Randomness::Different).chunk_size(k))` |
//! | `x.detach()` inside a transform, `jax.lax.stop_gradient` | `x.detach()`, `stop_gradient(&x)` |
//! | a model's parameters as a dict | a `#[derive(Tree)]` struct, or `BTreeMap<String, Tensor>` |
//!
//! ## Models (torch.nn, torch.func.functional_call)
//!
//! Modules are values in [`crate::nn`]; their parameters and buffers are a
//! `BTreeMap<String, Tensor>` with torch's state-dict names. Import the trait with
//! `use cotangent::nn::Module` for the methods.
//!
//! | torch | cotangent |
//! |---|---|
//! | `nn.Linear(3, 2)`, `nn.Linear(3, 2, bias=False)` | `nn::Linear::new(3, 2)`, `nn::Linear::with_bias(3, 2, false)` |
//! | `nn.Conv2d(1, 32, 3)`, `nn.Conv2d(1, 32, 3, padding=1)` | `nn::Conv2d::new(1, 32, 3)`, `nn::Conv2d::with(1, 32, [3, 3], Conv2dArgs { padding: [1, 1], ..Default::default() })` |
//! | `nn.MaxPool2d(2)`, `nn.Dropout(0.5)`, `nn.Flatten()`, `nn.LayerNorm([4])` | `nn::MaxPool2d::new(2)`, `nn::Dropout::new(0.5)`, `nn::Flatten::new()`, `nn::LayerNorm::new(&[4])` |
//! | `nn.ReLU()`, `nn.Tanh()`, `nn.Sigmoid()`, `nn.GELU()` | `nn::ReLU::new()`, `nn::Tanh::new()`, `nn::Sigmoid::new()`, `nn::GELU::new()` |
//! | `nn.Sequential(a, b, c)` | `nn::Sequential::new().push(a).push(b).push(c)` |
//! | `class Net(nn.Module)` with `self.fc1 = nn.Linear(..)` and `forward` | a `#[derive(Clone)]` struct with the layers as fields and `impl Module` with `type_name`, `try_forward`, `cotangent::module_children!(fc1, ..)` and `cotangent::module_training_flag!()` |
//! | `self.register_buffer("count", t)`, `nn.Parameter(t)` as attributes | `cotangent::module_tensors!(Buffer count, Parameter scale)` |
//! | `model(x)` | `model.forward(&x)` (`try_forward` for a `Result`) |
//! | `dict(model.named_parameters())`, `dict(model.named_buffers())`, `model.state_dict()` | `model.named_parameters()`, `model.named_buffers()`, `model.state_dict()` |
//! | `model.train()`, `model.eval()`, `model.training` | `model.train()`, `model.eval()`, `model.is_training()` |
//! | `model.load_state_dict(d, strict)`, `model.to(torch.float64)` | `model.load_state_dict(&d, strict)?`, `model.to_dtype(DType::F64)` |
//! | `F.layer_norm`, `F.dropout(x, p, training)` | `layer_norm(&x, &shape, w, b, eps)`, `dropout(&x, p, training)` |
//! | `functional_call(model, params, (x,))` | `nn::functional_call(&model, &params, &x)` |
//! | `functional_call(model, (params, buffers), (x,))` | `nn::functional_call(&model, (&params, &buffers), &x)` |
//! | `functional_call(..., strict=True, tie_weights=False)` | `nn::functional_call_with(&model, &params, &x, CallOpts::new().strict(true).tie_weights(false))` |
//! | `stack_module_state(models)` | `nn::stack_module_state(&models)` |
//! | `torch.optim.SGD(params, lr, momentum)`, `Adam(params, lr)` | `nn::optim::Sgd::new(lr).momentum(m)`, `nn::optim::Adam::new(lr)`; `let (params, state) = opt.step(&params, &grads, &state)` |
//!
//! ## Memory (torch.cuda's caching-allocator counters, for host memory)
//!
//! | torch | cotangent |
//! |---|---|
//! | `torch.cuda.memory_allocated()`, `max_memory_allocated()` | `memory::memory_allocated()`, `memory::max_memory_allocated()` |
//! | `torch.cuda.memory_reserved()`, `max_memory_reserved()` | `memory::memory_reserved()`, `memory::max_memory_reserved()` |
//! | `torch.cuda.reset_peak_memory_stats()` | `memory::reset_peak_memory_stats()` |
//! | `torch.cuda.empty_cache()` | `memory::empty_cache()` |
//! | `torch.cuda.memory_stats()` | `memory::memory_stats()` (a few of its keys, and the pool's hits, misses and evictions) |
//!
//! ## Errors
//!
//! Misuse panics with torch's message, prefixed with the op's name
//! (`add: The size of tensor a (3) must match the size of tensor b (4) at non-singleton
//! dimension 1`). Fallible twins (`try_reshape`, `try_cat`, `try_matmul`, `try_item`, ...)
//! return the same [`crate::Error`] instead.
