/*! postseal securedoc decryptor. Built from web/ in the postseal source
 * tree by web/build.mjs. It contains:
 *  - OpenPGP.js 6.3.2 (npm package "openpgp@6.3.2"), LGPL-3.0-or-later.
 *    Its complete source is that npm package and github.com/openpgpjs/openpgpjs
 *    (tag v6.3.2); the license text is in web/LICENSES/ of postseal.
 *    Parts of it carry their own MIT notices (noble-hashes, noble-ciphers),
 *    kept at the end of this file.
 *  - postal-mime 4.0.0 (npm package "postal-mime@4.0.0"), MIT-0,
 *    Copyright (c) 2021-2025 Andris Reinman.
 *  - DOMPurify 3.4.18 (npm package "dompurify@3.4.18"), Apache-2.0 OR MPL-2.0,
 *    Copyright (c) Cure53 and other contributors.
 * You may replace the OpenPGP.js part: rebuild with web/build.mjs. */
(()=>{var af=Object.defineProperty;var br=(t,e,r)=>()=>{if(r)throw r[0];try{return t&&(e=t(t=0)),e}catch(n){throw r=[n],n}};var qr=(t,e)=>{for(var r in e)af(t,r,{get:e[r],enumerable:!0})};var Ac={};qr(Ac,{default:()=>of,i:()=>uf,legacyCiphers:()=>lf,nobleCurves:()=>cf});var mc,of,cf,lf,uf,bc=br(()=>{mc=()=>{throw new Error("not supported by the securedoc decryptor: ./noble_curves.mjs")},
of=new Proxy({},{get:mc}),cf=new Map,lf=new Map,uf={get default(){return mc()}}});function hf(t){return t instanceof Uint8Array||ArrayBuffer.isView(t)&&t.constructor.name==="Uint8Array"}function aa(t,...e){if(!hf(t))throw new Error("Uint8Array expected");if(e.length>0&&!e.includes(
t.length))throw new Error("Uint8Array expected of length "+e+", got length="+t.length)}function Ec(t,e=!0){if(t.destroyed)throw new Error("Hash instance has been destroyed");if(e&&t.finished)throw new Error(
"Hash#digest() has already been called")}function ff(t,e){aa(t);let r=e.outputLen;if(t.length<r)throw new Error("digestInto() expects output buffer of length at least "+r)}function rr(...t){for(let e=0;e<
t.length;e++)t[e].fill(0)}function ra(t){return new DataView(t.buffer,t.byteOffset,t.byteLength)}function gt(t,e){return t<<32-e|t>>>e}function vs(t,e){return t<<e|t>>>32-e>>>0}function pf(t){if(typeof t!=
"string")throw new Error("string expected");return new Uint8Array(new TextEncoder().encode(t))}function vc(t){return typeof t=="string"&&(t=pf(t)),aa(t),t}function Zr(t){let e=n=>t().update(vc(n)).digest(),
r=t();return e.outputLen=r.outputLen,e.blockLen=r.blockLen,e.create=()=>t(),e}function df(t,e,r,n){if(typeof t.setBigUint64=="function")return t.setBigUint64(e,r,n);let s=BigInt(32),i=BigInt(4294967295),
a=Number(r>>s&i),o=Number(r&i),c=n?4:0,u=n?0:4;t.setUint32(e+c,a,n),t.setUint32(e+u,o,n)}function oa(t,e,r){return t&e^~t&r}function ca(t,e,r){return t&e^t&r^e&r}function yf(t,e=!1){return e?{h:Number(
t&bs),l:Number(t>>kc&bs)}:{h:Number(t>>kc&bs)|0,l:Number(t&bs)|0}}function Cc(t,e=!1){let r=t.length,n=new Uint32Array(r),s=new Uint32Array(r);for(let i=0;i<r;i++){let{h:a,l:o}=yf(t[i],e);[n[i],s[i]]=
[a,o]}return[n,s]}function Kt(t,e,r,n){let s=(e>>>0)+(n>>>0);return{h:t+r+(s/2**32|0)|0,l:s|0}}var ta,im,na,Xr,$t,Xt,Ue,Le,bs,kc,xc,Sc,Jr,$r,Es,ks,gf,wf,mf,Af,bf,Ef,kf,Zt,xs,sa,Ic,xf,Sf,er,tr,Ss,ia,vf,
Cf,If,Bf,Df,Cn,Kf,Pf,Tf,Uf,Lf,Mf,Bc,Dc,am,om,Kc,Pc,Tc,Uc,Lc=br(()=>{ta=typeof window<"u"?window:typeof global<"u"?global:typeof self<"u"?self:{},im=typeof ta=="object"&&"crypto"in ta?ta.crypto:void 0;
na=class{};Xr=class extends na{constructor(e,r,n,s){super(),this.finished=!1,this.length=0,this.pos=0,this.destroyed=!1,this.blockLen=e,this.outputLen=r,this.padOffset=n,this.isLE=s,this.buffer=new Uint8Array(
e),this.view=ra(this.buffer)}update(e){Ec(this),e=vc(e),aa(e);let{view:r,buffer:n,blockLen:s}=this,i=e.length;for(let a=0;a<i;){let o=Math.min(s-this.pos,i-a);if(o===s){let c=ra(e);for(;s<=i-a;a+=s)this.
process(c,a);continue}n.set(e.subarray(a,a+o),this.pos),this.pos+=o,a+=o,this.pos===s&&(this.process(r,0),this.pos=0)}return this.length+=e.length,this.roundClean(),this}digestInto(e){Ec(this),ff(e,this),
this.finished=!0;let{buffer:r,view:n,blockLen:s,isLE:i}=this,{pos:a}=this;r[a++]=128,rr(this.buffer.subarray(a)),this.padOffset>s-a&&(this.process(n,0),a=0);for(let f=a;f<s;f++)r[f]=0;df(n,s-8,BigInt(
this.length*8),i),this.process(n,0);let o=ra(e),c=this.outputLen;if(c%4)throw new Error("_sha2: outputLen should be aligned to 32bit");let u=c/4,h=this.get();if(u>h.length)throw new Error("_sha2: outp\
utLen bigger than state");for(let f=0;f<u;f++)o.setUint32(4*f,h[f],i)}digest(){let{buffer:e,outputLen:r}=this;this.digestInto(e);let n=e.slice(0,r);return this.destroy(),n}_cloneInto(e){e||(e=new this.
constructor),e.set(...this.get());let{blockLen:r,buffer:n,length:s,finished:i,destroyed:a,pos:o}=this;return e.destroyed=a,e.finished=i,e.length=s,e.pos=o,s%r&&e.buffer.set(n),e}clone(){return this._cloneInto()}},
$t=Uint32Array.from([1779033703,3144134277,1013904242,2773480762,1359893119,2600822924,528734635,1541459225]),Xt=Uint32Array.from([3238371032,914150663,812702999,4144912697,4290775857,1750603025,1694076839,
3204075428]),Ue=Uint32Array.from([3418070365,3238371032,1654270250,914150663,2438529370,812702999,355462360,4144912697,1731405415,4290775857,2394180231,1750603025,3675008525,1694076839,1203062813,3204075428]),
Le=Uint32Array.from([1779033703,4089235720,3144134277,2227873595,1013904242,4271175723,2773480762,1595750129,1359893119,2917565137,2600822924,725511199,528734635,4215389547,1541459225,327033209]),bs=BigInt(
2**32-1),kc=BigInt(32);xc=(t,e,r)=>t>>>r,Sc=(t,e,r)=>t<<32-r|e>>>r,Jr=(t,e,r)=>t>>>r|e<<32-r,$r=(t,e,r)=>t<<32-r|e>>>r,Es=(t,e,r)=>t<<64-r|e>>>r-32,ks=(t,e,r)=>t>>>r-32|e<<64-r;gf=(t,e,r)=>(t>>>0)+(e>>>
0)+(r>>>0),wf=(t,e,r,n)=>e+r+n+(t/2**32|0)|0,mf=(t,e,r,n)=>(t>>>0)+(e>>>0)+(r>>>0)+(n>>>0),Af=(t,e,r,n,s)=>e+r+n+s+(t/2**32|0)|0,bf=(t,e,r,n,s)=>(t>>>0)+(e>>>0)+(r>>>0)+(n>>>0)+(s>>>0),Ef=(t,e,r,n,s,i)=>e+
r+n+s+i+(t/2**32|0)|0,kf=Uint32Array.from([1116352408,1899447441,3049323471,3921009573,961987163,1508970993,2453635748,2870763221,3624381080,310598401,607225278,1426881987,1925078388,2162078206,2614888103,
3248222580,3835390401,4022224774,264347078,604807628,770255983,1249150122,1555081692,1996064986,2554220882,2821834349,2952996808,3210313671,3336571891,3584528711,113926993,338241895,666307205,773529912,
1294757372,1396182291,1695183700,1986661051,2177026350,2456956037,2730485921,2820302411,3259730800,3345764771,3516065817,3600352804,4094571909,275423344,430227734,506948616,659060556,883997877,958139571,
1322822218,1537002063,1747873779,1955562222,2024104815,2227730452,2361852424,2428436474,2756734187,3204031479,3329325298]),Zt=new Uint32Array(64),xs=class extends Xr{constructor(e=32){super(64,e,8,!1),
this.A=$t[0]|0,this.B=$t[1]|0,this.C=$t[2]|0,this.D=$t[3]|0,this.E=$t[4]|0,this.F=$t[5]|0,this.G=$t[6]|0,this.H=$t[7]|0}get(){let{A:e,B:r,C:n,D:s,E:i,F:a,G:o,H:c}=this;return[e,r,n,s,i,a,o,c]}set(e,r,n,s,i,a,o,c){
this.A=e|0,this.B=r|0,this.C=n|0,this.D=s|0,this.E=i|0,this.F=a|0,this.G=o|0,this.H=c|0}process(e,r){for(let f=0;f<16;f++,r+=4)Zt[f]=e.getUint32(r,!1);for(let f=16;f<64;f++){let d=Zt[f-15],g=Zt[f-2],w=gt(
d,7)^gt(d,18)^d>>>3,b=gt(g,17)^gt(g,19)^g>>>10;Zt[f]=b+Zt[f-7]+w+Zt[f-16]|0}let{A:n,B:s,C:i,D:a,E:o,F:c,G:u,H:h}=this;for(let f=0;f<64;f++){let d=gt(o,6)^gt(o,11)^gt(o,25),g=h+d+oa(o,c,u)+kf[f]+Zt[f]|
0,b=(gt(n,2)^gt(n,13)^gt(n,22))+ca(n,s,i)|0;h=u,u=c,c=o,o=a+g|0,a=i,i=s,s=n,n=g+b|0}n=n+this.A|0,s=s+this.B|0,i=i+this.C|0,a=a+this.D|0,o=o+this.E|0,c=c+this.F|0,u=u+this.G|0,h=h+this.H|0,this.set(n,s,
i,a,o,c,u,h)}roundClean(){rr(Zt)}destroy(){this.set(0,0,0,0,0,0,0,0),rr(this.buffer)}},sa=class extends xs{constructor(){super(28),this.A=Xt[0]|0,this.B=Xt[1]|0,this.C=Xt[2]|0,this.D=Xt[3]|0,this.E=Xt[4]|
0,this.F=Xt[5]|0,this.G=Xt[6]|0,this.H=Xt[7]|0}},Ic=Cc(["0x428a2f98d728ae22","0x7137449123ef65cd","0xb5c0fbcfec4d3b2f","0xe9b5dba58189dbbc","0x3956c25bf348b538","0x59f111f1b605d019","0x923f82a4af194f9\
b","0xab1c5ed5da6d8118","0xd807aa98a3030242","0x12835b0145706fbe","0x243185be4ee4b28c","0x550c7dc3d5ffb4e2","0x72be5d74f27b896f","0x80deb1fe3b1696b1","0x9bdc06a725c71235","0xc19bf174cf692694","0xe49b6\
9c19ef14ad2","0xefbe4786384f25e3","0x0fc19dc68b8cd5b5","0x240ca1cc77ac9c65","0x2de92c6f592b0275","0x4a7484aa6ea6e483","0x5cb0a9dcbd41fbd4","0x76f988da831153b5","0x983e5152ee66dfab","0xa831c66d2db43210",
"0xb00327c898fb213f","0xbf597fc7beef0ee4","0xc6e00bf33da88fc2","0xd5a79147930aa725","0x06ca6351e003826f","0x142929670a0e6e70","0x27b70a8546d22ffc","0x2e1b21385c26c926","0x4d2c6dfc5ac42aed","0x53380d13\
9d95b3df","0x650a73548baf63de","0x766a0abb3c77b2a8","0x81c2c92e47edaee6","0x92722c851482353b","0xa2bfe8a14cf10364","0xa81a664bbc423001","0xc24b8b70d0f89791","0xc76c51a30654be30","0xd192e819d6ef5218","\
0xd69906245565a910","0xf40e35855771202a","0x106aa07032bbd1b8","0x19a4c116b8d2d0c8","0x1e376c085141ab53","0x2748774cdf8eeb99","0x34b0bcb5e19b48a8","0x391c0cb3c5c95a63","0x4ed8aa4ae3418acb","0x5b9cca4f7\
763e373","0x682e6ff3d6b2b8a3","0x748f82ee5defb2fc","0x78a5636f43172f60","0x84c87814a1f0ab72","0x8cc702081a6439ec","0x90befffa23631e28","0xa4506cebde82bde9","0xbef9a3f7b2c67915","0xc67178f2e372532b","0\
xca273eceea26619c","0xd186b8c721c0c207","0xeada7dd6cde0eb1e","0xf57d4f7fee6ed178","0x06f067aa72176fba","0x0a637dc5a2c898a6","0x113f9804bef90dae","0x1b710b35131c471b","0x28db77f523047d84","0x32caab7b40\
c72493","0x3c9ebe0a15c9bebc","0x431d67c49c100d4c","0x4cc5d4becb3e42b6","0x597f299cfc657e2a","0x5fcb6fab3ad6faec","0x6c44198c4a475817"].map(t=>BigInt(t))),xf=Ic[0],Sf=Ic[1],er=new Uint32Array(80),tr=new Uint32Array(
80),Ss=class extends Xr{constructor(e=64){super(128,e,16,!1),this.Ah=Le[0]|0,this.Al=Le[1]|0,this.Bh=Le[2]|0,this.Bl=Le[3]|0,this.Ch=Le[4]|0,this.Cl=Le[5]|0,this.Dh=Le[6]|0,this.Dl=Le[7]|0,this.Eh=Le[8]|
0,this.El=Le[9]|0,this.Fh=Le[10]|0,this.Fl=Le[11]|0,this.Gh=Le[12]|0,this.Gl=Le[13]|0,this.Hh=Le[14]|0,this.Hl=Le[15]|0}get(){let{Ah:e,Al:r,Bh:n,Bl:s,Ch:i,Cl:a,Dh:o,Dl:c,Eh:u,El:h,Fh:f,Fl:d,Gh:g,Gl:w,
Hh:b,Hl:A}=this;return[e,r,n,s,i,a,o,c,u,h,f,d,g,w,b,A]}set(e,r,n,s,i,a,o,c,u,h,f,d,g,w,b,A){this.Ah=e|0,this.Al=r|0,this.Bh=n|0,this.Bl=s|0,this.Ch=i|0,this.Cl=a|0,this.Dh=o|0,this.Dl=c|0,this.Eh=u|0,
this.El=h|0,this.Fh=f|0,this.Fl=d|0,this.Gh=g|0,this.Gl=w|0,this.Hh=b|0,this.Hl=A|0}process(e,r){for(let S=0;S<16;S++,r+=4)er[S]=e.getUint32(r),tr[S]=e.getUint32(r+=4);for(let S=16;S<80;S++){let v=er[S-
15]|0,K=tr[S-15]|0,U=Jr(v,K,1)^Jr(v,K,8)^xc(v,K,7),M=$r(v,K,1)^$r(v,K,8)^Sc(v,K,7),D=er[S-2]|0,T=tr[S-2]|0,P=Jr(D,T,19)^Es(D,T,61)^xc(D,T,6),I=$r(D,T,19)^ks(D,T,61)^Sc(D,T,6),F=mf(M,I,tr[S-7],tr[S-16]),
N=Af(F,U,P,er[S-7],er[S-16]);er[S]=N|0,tr[S]=F|0}let{Ah:n,Al:s,Bh:i,Bl:a,Ch:o,Cl:c,Dh:u,Dl:h,Eh:f,El:d,Fh:g,Fl:w,Gh:b,Gl:A,Hh:k,Hl:E}=this;for(let S=0;S<80;S++){let v=Jr(f,d,14)^Jr(f,d,18)^Es(f,d,41),
K=$r(f,d,14)^$r(f,d,18)^ks(f,d,41),U=f&g^~f&b,M=d&w^~d&A,D=bf(E,K,M,Sf[S],tr[S]),T=Ef(D,k,v,U,xf[S],er[S]),P=D|0,I=Jr(n,s,28)^Es(n,s,34)^Es(n,s,39),F=$r(n,s,28)^ks(n,s,34)^ks(n,s,39),N=n&i^n&o^i&o,W=s&
a^s&c^a&c;k=b|0,E=A|0,b=g|0,A=w|0,g=f|0,w=d|0,{h:f,l:d}=Kt(u|0,h|0,T|0,P|0),u=o|0,h=c|0,o=i|0,c=a|0,i=n|0,a=s|0;let z=gf(P,F,W);n=wf(z,T,I,N),s=z|0}({h:n,l:s}=Kt(this.Ah|0,this.Al|0,n|0,s|0)),{h:i,l:a}=
Kt(this.Bh|0,this.Bl|0,i|0,a|0),{h:o,l:c}=Kt(this.Ch|0,this.Cl|0,o|0,c|0),{h:u,l:h}=Kt(this.Dh|0,this.Dl|0,u|0,h|0),{h:f,l:d}=Kt(this.Eh|0,this.El|0,f|0,d|0),{h:g,l:w}=Kt(this.Fh|0,this.Fl|0,g|0,w|0),
{h:b,l:A}=Kt(this.Gh|0,this.Gl|0,b|0,A|0),{h:k,l:E}=Kt(this.Hh|0,this.Hl|0,k|0,E|0),this.set(n,s,i,a,o,c,u,h,f,d,g,w,b,A,k,E)}roundClean(){rr(er,tr)}destroy(){rr(this.buffer),this.set(0,0,0,0,0,0,0,0,
0,0,0,0,0,0,0,0)}},ia=class extends Ss{constructor(){super(48),this.Ah=Ue[0]|0,this.Al=Ue[1]|0,this.Bh=Ue[2]|0,this.Bl=Ue[3]|0,this.Ch=Ue[4]|0,this.Cl=Ue[5]|0,this.Dh=Ue[6]|0,this.Dl=Ue[7]|0,this.Eh=Ue[8]|
0,this.El=Ue[9]|0,this.Fh=Ue[10]|0,this.Fl=Ue[11]|0,this.Gh=Ue[12]|0,this.Gl=Ue[13]|0,this.Hh=Ue[14]|0,this.Hl=Ue[15]|0}},vf=Zr(()=>new xs),Cf=Zr(()=>new sa),If=Zr(()=>new Ss),Bf=Zr(()=>new ia),Df=BigInt(
0),Cn=BigInt(1),Kf=BigInt(2),Pf=BigInt(7),Tf=BigInt(256),Uf=BigInt(113),Lf=[],Mf=[],Bc=[];for(let t=0,e=Cn,r=1,n=0;t<24;t++){[r,n]=[n,(2*r+3*n)%5],Lf.push(2*(5*n+r)),Mf.push((t+1)*(t+2)/2%64);let s=Df;
for(let i=0;i<7;i++)e=(e<<Cn^(e>>Pf)*Uf)%Tf,e&Kf&&(s^=Cn<<(Cn<<BigInt(i))-Cn);Bc.push(s)}Dc=Cc(Bc,!0),am=Dc[0],om=Dc[1],Kc=vf,Pc=Cf,Tc=If,Uc=Bf});var Mc={};qr(Mc,{nobleHashes:()=>Ff});var In,nr,la,Rf,_f,pm,Ff,Rc=br(()=>{Lc();In=Uint32Array.from([1732584193,4023233417,2562383102,271733878,3285377520]),nr=new Uint32Array(80),la=class extends Xr{constructor(){
super(64,20,8,!1),this.A=In[0]|0,this.B=In[1]|0,this.C=In[2]|0,this.D=In[3]|0,this.E=In[4]|0}get(){let{A:e,B:r,C:n,D:s,E:i}=this;return[e,r,n,s,i]}set(e,r,n,s,i){this.A=e|0,this.B=r|0,this.C=n|0,this.
D=s|0,this.E=i|0}process(e,r){for(let c=0;c<16;c++,r+=4)nr[c]=e.getUint32(r,!1);for(let c=16;c<80;c++)nr[c]=vs(nr[c-3]^nr[c-8]^nr[c-14]^nr[c-16],1);let{A:n,B:s,C:i,D:a,E:o}=this;for(let c=0;c<80;c++){
let u,h;c<20?(u=oa(s,i,a),h=1518500249):c<40?(u=s^i^a,h=1859775393):c<60?(u=ca(s,i,a),h=2400959708):(u=s^i^a,h=3395469782);let f=vs(n,5)+u+o+h+nr[c]|0;o=a,a=i,i=vs(s,30),s=n,n=f}n=n+this.A|0,s=s+this.
B|0,i=i+this.C|0,a=a+this.D|0,o=o+this.E|0,this.set(n,s,i,a,o)}roundClean(){rr(nr)}destroy(){this.set(0,0,0,0,0),rr(this.buffer)}},Rf=Zr(()=>new la),_f=Rf,pm=Array.from({length:64},(t,e)=>Math.floor(2**
32*Math.abs(Math.sin(e+1)))),Ff=new Map(Object.entries({sha1:_f,sha224:Pc,sha256:Kc,sha384:Uc,sha512:Tc}))});var Er={};qr(Er,{default:()=>Nf,i:()=>Hf,legacyCiphers:()=>Qf,nobleCurves:()=>Of});var _c,Nf,Of,Qf,Hf,kr=br(()=>{_c=()=>{throw new Error("not supported by the securedoc decryptor: ./nacl-fast.mjs")},Nf=
new Proxy({},{get:_c}),Of=new Map,Qf=new Map,Hf={get default(){return _c()}}});var Nc={};qr(Nc,{default:()=>zf,i:()=>Wf,legacyCiphers:()=>Gf,nobleCurves:()=>jf});var Fc,zf,jf,Gf,Wf,Oc=br(()=>{Fc=()=>{throw new Error("not supported by the securedoc decryptor: ./legacy_ciphers.mjs")},
zf=new Proxy({},{get:Fc}),jf=new Map,Gf=new Map,Wf={get default(){return Fc()}}});var Yc={};qr(Yc,{default:()=>wp});function en(t,e,r,n){t[e]+=r[n],t[e+1]+=r[n+1]+(t[e]<r[n])}function Qc(t,e){t[0]+=e,t[1]+=t[0]<e}function sr(t,e,r,n,s,i,a,o){en(t,r,t,n),en(t,r,e,a);let c=t[i]^t[r],
u=t[i+1]^t[r+1];t[i]=u,t[i+1]=c,en(t,s,t,i),c=t[n]^t[s],u=t[n+1]^t[s+1],t[n]=c>>>24^u<<8,t[n+1]=u>>>24^c<<8,en(t,r,t,n),en(t,r,e,o),c=t[i]^t[r],u=t[i+1]^t[r+1],t[i]=c>>>16^u<<16,t[i+1]=u>>>16^c<<16,en(
t,s,t,i),c=t[n]^t[s],u=t[n+1]^t[s+1],t[n]=u>>>31^c<<1,t[n+1]=c>>>31^u<<1}function Hc(t,e){let r=new Uint32Array(32),n=new Uint32Array(t.b.buffer,t.b.byteOffset,32);for(let i=0;i<16;i++)r[i]=t.h[i],r[i+
16]=jc[i];r[24]^=t.t0[0],r[25]^=t.t0[1];let s=e?4294967295:0;r[28]^=s,r[29]^=s;for(let i=0;i<12;i++){let a=i<<4;sr(r,n,0,8,16,24,Me[a+0],Me[a+1]),sr(r,n,2,10,18,26,Me[a+2],Me[a+3]),sr(r,n,4,12,20,28,Me[a+
4],Me[a+5]),sr(r,n,6,14,22,30,Me[a+6],Me[a+7]),sr(r,n,0,10,20,30,Me[a+8],Me[a+9]),sr(r,n,2,12,22,24,Me[a+10],Me[a+11]),sr(r,n,4,14,16,26,Me[a+12],Me[a+13]),sr(r,n,6,8,18,28,Me[a+14],Me[a+15])}for(let i=0;i<
16;i++)t.h[i]^=r[i]^r[i+16]}function Is(t,e,r,n){if(t>fa)throw new Error(`outlen must be at most ${fa} (given: ${t})`);return new ha(t,e,r,n)}function He(t,e,r){return t[r+0]=e,t[r+1]=e>>8,t[r+2]=e>>16,
t[r+3]=e>>24,t}function xr(t,e,r){if(e>Number.MAX_SAFE_INTEGER)throw new Error("LE64: large numbers unsupported");let n=e;for(let s=r;s<r+7;s++)t[s]=n,n=(n-t[s])/256;return t}function ua(t,e,r){let n=new Uint8Array(
64),s=new Uint8Array(4+e.length);if(He(s,t,0),s.set(e,4),t<=64)return Is(t).update(s).digest(r),r;let i=Math.ceil(t/32)-2;for(let o=0;o<i;o++)Is(64).update(o===0?s:n).digest(n),r.set(n.subarray(0,32),
o*32);let a=new Uint8Array(Is(t-32*i).update(n).digest());return r.set(a,i*32),r}function zc(t,e,r,n){return t.fn.XOR(e.byteOffset,r.byteOffset,n.byteOffset),e}function ip(t,e,r,n){return t.fn.G(e.byteOffset,
r.byteOffset,n.byteOffset,t.refs.gZ.byteOffset),n}function ap(t,e,r,n){return t.fn.G2(e.byteOffset,r.byteOffset,n.byteOffset,t.refs.gZ.byteOffset),n}function*op(t,e,r,n,s,i,a,o){t.refs.prngTmp.fill(0);
let c=t.refs.prngTmp.subarray(0,48);xr(c,e,0),xr(c,r,8),xr(c,n,16),xr(c,s,24),xr(c,i,32),xr(c,pa,40);for(let u=1;u<=a;u++){xr(t.refs.prngTmp,u,c.length);let h=ap(t,t.refs.ZERO1024,t.refs.prngTmp,t.refs.
prngR);for(let f=u===1?o*8:0;f<h.length;f+=8)yield h.subarray(f,f+8)}return[]}function cp({type:t,version:e,tagLength:r,password:n,salt:s,ad:i,secret:a,parallelism:o,memorySize:c,passes:u}){let h=(f,d,g,w)=>{
if(d<g||d>w)throw new Error(`${f} size should be between ${g} and ${w} bytes`)};if(t!==pa||e!==Gc)throw new Error("Unsupported type or version");return h("password",n,Zf,Xf),h("salt",s,$f,Jf),h("tag",
r,qf,Yf),h("memory",c,8*o,ep),i&&h("associated data",i,0,tp),a&&h("secret",a,0,rp),{type:t,version:e,tagLength:r,password:n,salt:s,ad:i,secret:a,lanes:o,memorySize:c,passes:u}}function up(t,{memory:e,
instance:r}){if(!sp)throw new Error("BigEndian system not supported");let n=cp({type:pa,version:Gc,...t}),{G:s,G2:i,xor:a,getLZ:o}=r.exports,c={},u={};u.G=s,u.G2=i,u.XOR=a;let h=4*n.lanes*Math.floor(n.
memorySize/(4*n.lanes)),f=h*Pt+10*Wc;if(e.buffer.byteLength<f){let P=Math.ceil((f-e.buffer.byteLength)/lp);e.grow(P)}let d=0;c.gZ=new Uint8Array(e.buffer,d,Pt),d+=c.gZ.length,c.prngR=new Uint8Array(e.
buffer,d,Pt),d+=c.prngR.length,c.prngTmp=new Uint8Array(e.buffer,d,Pt),d+=c.prngTmp.length,c.ZERO1024=new Uint8Array(e.buffer,d,1024),d+=c.ZERO1024.length;let g=new Uint32Array(e.buffer,d,2);d+=g.length*
Uint32Array.BYTES_PER_ELEMENT;let w={fn:u,refs:c},b=new Uint8Array(e.buffer,d,Pt);d+=b.length;let A=new Uint8Array(e.buffer,d,n.memorySize*Pt),k=new Uint8Array(e.buffer,0,d),E=hp(n),S=h/n.lanes,v=new Array(
n.lanes).fill(null).map(()=>new Array(S)),K=(P,I)=>(v[P][I]=A.subarray(P*S*1024+I*1024,P*S*1024+I*1024+Pt),v[P][I]);for(let P=0;P<n.lanes;P++){let I=new Uint8Array(E.length+8);I.set(E),He(I,0,E.length),
He(I,P,E.length+4),ua(Pt,I,K(P,0)),He(I,1,E.length),ua(Pt,I,K(P,1))}let U=4,M=S/U;for(let P=0;P<n.passes;P++)for(let I=0;I<U;I++){let F=P===0&&I<=1;for(let N=0;N<n.lanes;N++){let W=I===0&&P===0?2:0,z=F?
op(w,P,N,I,h,n.passes,M,W):null;for(W;W<M;W++){let Q=I*M+W,G=Q>0?v[N][Q-1]:v[N][S-1],pe=F?z.next().value:G;o(g.byteOffset,pe.byteOffset,N,n.lanes,P,I,W,U,M);let de=g[0],It=g[1];P===0&&K(N,Q),ip(w,G,v[de][It],
P>0?b:v[N][Q]),P>0&&zc(w,v[N][Q],b,v[N][Q])}}}let D=v[0][S-1];for(let P=1;P<n.lanes;P++)zc(w,D,D,v[P][S-1]);let T=ua(n.tagLength,D,new Uint8Array(n.tagLength));return k.fill(0),e.grow(0),T}function hp(t){
let e=Is(np),r=new Uint8Array(4),n=new Uint8Array(24);He(n,t.lanes,0),He(n,t.tagLength,4),He(n,t.memorySize,8),He(n,t.passes,12),He(n,t.version,16),He(n,t.type,20);let s=[n];t.password?(s.push(He(new Uint8Array(
4),t.password.length,0)),s.push(t.password)):s.push(r),t.salt?(s.push(He(new Uint8Array(4),t.salt.length,0)),s.push(t.salt)):s.push(r),t.secret?(s.push(He(new Uint8Array(4),t.secret.length,0)),s.push(
t.secret)):s.push(r),t.ad?(s.push(He(new Uint8Array(4),t.ad.length,0)),s.push(t.ad)):s.push(r),e.update(fp(s));let i=e.digest();return new Uint8Array(i)}function fp(t){if(t.length===1)return t[0];let e=0;
for(let s=0;s<t.length;s++){if(!(t[s]instanceof Uint8Array))throw new Error("concatArrays: Data must be in the form of a Uint8Array");e+=t[s].length}let r=new Uint8Array(e),n=0;return t.forEach(s=>{r.
set(s,n),n+=s.length}),r}async function pp(t,e,r){let n={env:{memory:t}};if(Cs===void 0)try{let i=await e(n);return Cs=!0,i}catch{Cs=!1}return(Cs?e:r)(n)}async function dp(t,e){let r=new WebAssembly.Memory(
{initial:1040,maximum:65536}),n=await pp(r,t,e);return i=>up(i,{instance:n.instance,memory:r})}function Vc(t,e,r,n){function s(u,h,f){var d=f?WebAssembly.instantiateStreaming:WebAssembly.instantiate,g=f?
WebAssembly.compileStreaming:WebAssembly.compile;return h?d(u,h):g(u)}var i=null,a=Vf.atob(r),o=a.length;i=new Uint8Array(new ArrayBuffer(o));for(var c=0;c<o;c++)i[c]=a.charCodeAt(c);return s(i,n,!1)}
function yp(t){return Vc(0,null,"AGFzbQEAAAABKwdgBH9/f38AYAABf2AAAGADf39/AGAJf39/f39/f39/AX9gAX8AYAF/AX8CEwEDZW52Bm1lbW9yeQIBkAiAgAQDCgkCAwAABAEFBgEEBQFwAQICBgkBfwFBkIjAAgsHfQoDeG9yAAEBRwACAkcyAAMFZ2V\
0TFoABBlfX2luZGlyZWN0X2Z1bmN0aW9uX3RhYmxlAQALX2luaXRpYWxpemUAABBfX2Vycm5vX2xvY2F0aW9uAAgJc3RhY2tTYXZlAAUMc3RhY2tSZXN0b3JlAAYKc3RhY2tBbGxvYwAHCQcBAEEBCwEACs0gCQMAAQtYAQJ/A0AgACAEQQR0IgNqIAIgA2r9AAQAIAE\
gA2r9AAQA/VH9CwQAIAAgA0EQciIDaiACIANq/QAEACABIANq/QAEAP1R/QsEACAEQQJqIgRBwABHDQALC7ceAgt7A38DQCADIBFBBHQiD2ogASAPav0ABAAgACAPav0ABAD9USIF/QsEACACIA9qIAX9CwQAIAMgD0EQciIPaiABIA9q/QAEACAAIA9q/QAEAP1RIgX\
9CwQAIAIgD2ogBf0LBAAgEUECaiIRQcAARw0ACwNAIAMgEEEHdGoiAEEQaiAA/QAEcCAA/QAEMCIFIAD9AAQQIgT9zgEgBSAF/Q0AAQIDCAkKCwABAgMICQoLIAQgBP0NAAECAwgJCgsAAQIDCAkKC/3eAUEB/csB/c4BIgT9USIJQSD9ywEgCUEg/c0B/VAiCSAA/QA\
EUCIG/c4BIAkgCf0NAAECAwgJCgsAAQIDCAkKCyAGIAb9DQABAgMICQoLAAECAwgJCgv93gFBAf3LAf3OASIGIAX9USIFQSj9ywEgBUEY/c0B/VAiCCAE/c4BIAggCP0NAAECAwgJCgsAAQIDCAkKCyAEIAT9DQABAgMICQoLAAECAwgJCgv93gFBAf3LAf3OASIKIAo\
gCf1RIgVBMP3LASAFQRD9zQH9UCIFIAb9zgEgBSAF/Q0AAQIDCAkKCwABAgMICQoLIAYgBv0NAAECAwgJCgsAAQIDCAkKC/3eAUEB/csB/c4BIgkgCP1RIgRBAf3LASAEQT/9zQH9UCIMIAD9AARgIAD9AAQgIgQgAP0ABAAiBv3OASAEIAT9DQABAgMICQoLAAECAwg\
JCgsgBiAG/Q0AAQIDCAkKCwABAgMICQoL/d4BQQH9ywH9zgEiBv1RIghBIP3LASAIQSD9zQH9UCIIIABBQGsiAf0ABAAiB/3OASAIIAj9DQABAgMICQoLAAECAwgJCgsgByAH/Q0AAQIDCAkKCwABAgMICQoL/d4BQQH9ywH9zgEiByAE/VEiBEEo/csBIARBGP3NAf1\
QIgsgBv3OASALIAv9DQABAgMICQoLAAECAwgJCgsgBiAG/Q0AAQIDCAkKCwABAgMICQoL/d4BQQH9ywH9zgEiBiAI/VEiBEEw/csBIARBEP3NAf1QIgQgB/3OASAEIAT9DQABAgMICQoLAAECAwgJCgsgByAH/Q0AAQIDCAkKCwABAgMICQoL/d4BQQH9ywH9zgEiCCA\
L/VEiB0EB/csBIAdBP/3NAf1QIg0gDf0NAAECAwQFBgcQERITFBUWF/0NCAkKCwwNDg8YGRobHB0eHyIH/c4BIAcgB/0NAAECAwgJCgsAAQIDCAkKCyAKIAr9DQABAgMICQoLAAECAwgJCgv93gFBAf3LAf3OASIKIAQgBSAF/Q0AAQIDBAUGBxAREhMUFRYX/Q0ICQo\
LDA0ODxgZGhscHR4f/VEiC0Eg/csBIAtBIP3NAf1QIgsgCP3OASALIAv9DQABAgMICQoLAAECAwgJCgsgCCAI/Q0AAQIDCAkKCwABAgMICQoL/d4BQQH9ywH9zgEiCCAH/VEiB0Eo/csBIAdBGP3NAf1QIgcgCv3OASAHIAf9DQABAgMICQoLAAECAwgJCgsgCiAK/Q0\
AAQIDCAkKCwABAgMICQoL/d4BQQH9ywH9zgEiDv0LBAAgACAGIA0gDCAM/Q0AAQIDBAUGBxAREhMUFRYX/Q0ICQoLDA0ODxgZGhscHR4fIgr9zgEgCiAK/Q0AAQIDCAkKCwABAgMICQoLIAYgBv0NAAECAwgJCgsAAQIDCAkKC/3eAUEB/csB/c4BIgYgBSAEIAT9DQA\
BAgMEBQYHEBESExQVFhf9DQgJCgsMDQ4PGBkaGxwdHh/9USIFQSD9ywEgBUEg/c0B/VAiBSAJ/c4BIAUgBf0NAAECAwgJCgsAAQIDCAkKCyAJIAn9DQABAgMICQoLAAECAwgJCgv93gFBAf3LAf3OASIJIAr9USIEQSj9ywEgBEEY/c0B/VAiCiAG/c4BIAogCv0NAAE\
CAwgJCgsAAQIDCAkKCyAGIAb9DQABAgMICQoLAAECAwgJCgv93gFBAf3LAf3OASIE/QsEACAAIAQgBf1RIgVBMP3LASAFQRD9zQH9UCIFIA4gC/1RIgRBMP3LASAEQRD9zQH9UCIEIAT9DQABAgMEBQYHEBESExQVFhf9DQgJCgsMDQ4PGBkaGxwdHh/9CwRgIAAgBCA\
FIAX9DQABAgMEBQYHEBESExQVFhf9DQgJCgsMDQ4PGBkaGxwdHh/9CwRwIAEgBCAI/c4BIAQgBP0NAAECAwgJCgsAAQIDCAkKCyAIIAj9DQABAgMICQoLAAECAwgJCgv93gFBAf3LAf3OASIE/QsEACAAIAUgCf3OASAFIAX9DQABAgMICQoLAAECAwgJCgsgCSAJ/Q0\
AAQIDCAkKCwABAgMICQoL/d4BQQH9ywH9zgEiCf0LBFAgACAEIAf9USIFQQH9ywEgBUE//c0B/VAiBSAJIAr9USIEQQH9ywEgBEE//c0B/VAiBCAE/Q0AAQIDBAUGBxAREhMUFRYX/Q0ICQoLDA0ODxgZGhscHR4f/QsEICAAIAQgBSAF/Q0AAQIDBAUGBxAREhMUFRY\
X/Q0ICQoLDA0ODxgZGhscHR4f/QsEMCAQQQFqIhBBCEcNAAtBACEQA0AgAyAQQQR0aiIAQYABaiAA/QAEgAcgAP0ABIADIgUgAP0ABIABIgT9zgEgBSAF/Q0AAQIDCAkKCwABAgMICQoLIAQgBP0NAAECAwgJCgsAAQIDCAkKC/3eAUEB/csB/c4BIgT9USIJQSD9ywE\
gCUEg/c0B/VAiCSAA/QAEgAUiBv3OASAJIAn9DQABAgMICQoLAAECAwgJCgsgBiAG/Q0AAQIDCAkKCwABAgMICQoL/d4BQQH9ywH9zgEiBiAF/VEiBUEo/csBIAVBGP3NAf1QIgggBP3OASAIIAj9DQABAgMICQoLAAECAwgJCgsgBCAE/Q0AAQIDCAkKCwABAgMICQo\
L/d4BQQH9ywH9zgEiCiAKIAn9USIFQTD9ywEgBUEQ/c0B/VAiBSAG/c4BIAUgBf0NAAECAwgJCgsAAQIDCAkKCyAGIAb9DQABAgMICQoLAAECAwgJCgv93gFBAf3LAf3OASIJIAj9USIEQQH9ywEgBEE//c0B/VAiDCAA/QAEgAYgAP0ABIACIgQgAP0ABAAiBv3OASA\
EIAT9DQABAgMICQoLAAECAwgJCgsgBiAG/Q0AAQIDCAkKCwABAgMICQoL/d4BQQH9ywH9zgEiBv1RIghBIP3LASAIQSD9zQH9UCIIIAD9AASABCIH/c4BIAggCP0NAAECAwgJCgsAAQIDCAkKCyAHIAf9DQABAgMICQoLAAECAwgJCgv93gFBAf3LAf3OASIHIAT9USI\
EQSj9ywEgBEEY/c0B/VAiCyAG/c4BIAsgC/0NAAECAwgJCgsAAQIDCAkKCyAGIAb9DQABAgMICQoLAAECAwgJCgv93gFBAf3LAf3OASIGIAj9USIEQTD9ywEgBEEQ/c0B/VAiBCAH/c4BIAQgBP0NAAECAwgJCgsAAQIDCAkKCyAHIAf9DQABAgMICQoLAAECAwgJCgv\
93gFBAf3LAf3OASIIIAv9USIHQQH9ywEgB0E//c0B/VAiDSAN/Q0AAQIDBAUGBxAREhMUFRYX/Q0ICQoLDA0ODxgZGhscHR4fIgf9zgEgByAH/Q0AAQIDCAkKCwABAgMICQoLIAogCv0NAAECAwgJCgsAAQIDCAkKC/3eAUEB/csB/c4BIgogBCAFIAX9DQABAgMEBQY\
HEBESExQVFhf9DQgJCgsMDQ4PGBkaGxwdHh/9USILQSD9ywEgC0Eg/c0B/VAiCyAI/c4BIAsgC/0NAAECAwgJCgsAAQIDCAkKCyAIIAj9DQABAgMICQoLAAECAwgJCgv93gFBAf3LAf3OASIIIAf9USIHQSj9ywEgB0EY/c0B/VAiByAK/c4BIAcgB/0NAAECAwgJCgs\
AAQIDCAkKCyAKIAr9DQABAgMICQoLAAECAwgJCgv93gFBAf3LAf3OASIO/QsEACAAIAYgDSAMIAz9DQABAgMEBQYHEBESExQVFhf9DQgJCgsMDQ4PGBkaGxwdHh8iCv3OASAKIAr9DQABAgMICQoLAAECAwgJCgsgBiAG/Q0AAQIDCAkKCwABAgMICQoL/d4BQQH9ywH\
9zgEiBiAFIAQgBP0NAAECAwQFBgcQERITFBUWF/0NCAkKCwwNDg8YGRobHB0eH/1RIgVBIP3LASAFQSD9zQH9UCIFIAn9zgEgBSAF/Q0AAQIDCAkKCwABAgMICQoLIAkgCf0NAAECAwgJCgsAAQIDCAkKC/3eAUEB/csB/c4BIgkgCv1RIgRBKP3LASAEQRj9zQH9UCI\
KIAb9zgEgCiAK/Q0AAQIDCAkKCwABAgMICQoLIAYgBv0NAAECAwgJCgsAAQIDCAkKC/3eAUEB/csB/c4BIgT9CwQAIAAgBCAF/VEiBUEw/csBIAVBEP3NAf1QIgUgDiAL/VEiBEEw/csBIARBEP3NAf1QIgQgBP0NAAECAwQFBgcQERITFBUWF/0NCAkKCwwNDg8YGRo\
bHB0eH/0LBIAGIAAgBCAFIAX9DQABAgMEBQYHEBESExQVFhf9DQgJCgsMDQ4PGBkaGxwdHh/9CwSAByAAIAQgCP3OASAEIAT9DQABAgMICQoLAAECAwgJCgsgCCAI/Q0AAQIDCAkKCwABAgMICQoL/d4BQQH9ywH9zgEiBP0LBIAEIAAgBSAJ/c4BIAUgBf0NAAECAwg\
JCgsAAQIDCAkKCyAJIAn9DQABAgMICQoLAAECAwgJCgv93gFBAf3LAf3OASIJ/QsEgAUgACAEIAf9USIFQQH9ywEgBUE//c0B/VAiBSAJIAr9USIEQQH9ywEgBEE//c0B/VAiBCAE/Q0AAQIDBAUGBxAREhMUFRYX/Q0ICQoLDA0ODxgZGhscHR4f/QsEgAIgACAEIAU\
gBf0NAAECAwQFBgcQERITFBUWF/0NCAkKCwwNDg8YGRobHB0eH/0LBIADIBBBAWoiEEEIRw0AC0EAIRADQCACIBBBBHQiAGoiASAAIANq/QAEACAB/QAEAP1R/QsEACACIABBEHIiAWoiDyABIANq/QAEACAP/QAEAP1R/QsEACACIABBIHIiAWoiDyABIANq/QAEACA\
P/QAEAP1R/QsEACACIABBMHIiAGoiASAAIANq/QAEACAB/QAEAP1R/QsEACAQQQRqIhBBwABHDQALCxYAIAAgASACIAMQAiAAIAIgAiADEAILewIBfwF+IAIhCSABNQIAIQogBCAFcgRAIAEoAgQgA3AhCQsgACAJNgIAIAAgB0EBayAFIAQbIAhsIAZBAWtBAEF/IAY\
bIAIgCUYbaiIBIAVBAWogCGxBACAEG2ogAa0gCiAKfkIgiH5CIIinQX9zaiAHIAhscDYCBCAACwQAIwALBgAgACQACxAAIwAgAGtBcHEiACQAIAALBQBBgAgL",t)}function gp(t){return Vc(0,null,"AGFzbQEAAAABPwhgBH9/f38AYAABf2AAAGADf39/A\
GARf39/f39/f39/f39/f39/f38AYAl/f39/f39/f38Bf2ABfwBgAX8BfwITAQNlbnYGbWVtb3J5AgGQCICABAMLCgIDBAAABQEGBwEEBQFwAQICBgkBfwFBkIjAAgsHfQoDeG9yAAEBRwADAkcyAAQFZ2V0TFoABRlfX2luZGlyZWN0X2Z1bmN0aW9uX3RhYmxlAQALX\
2luaXRpYWxpemUAABBfX2Vycm5vX2xvY2F0aW9uAAkJc3RhY2tTYXZlAAYMc3RhY2tSZXN0b3JlAAcKc3RhY2tBbGxvYwAICQcBAEEBCwEACssaCgMAAQtQAQJ/A0AgACAEQQN0IgNqIAIgA2opAwAgASADaikDAIU3AwAgACADQQhyIgNqIAIgA2opAwAgASADaikDA\
IU3AwAgBEECaiIEQYABRw0ACwveDwICfgF/IAAgAUEDdGoiEyATKQMAIhEgACAFQQN0aiIBKQMAIhJ8IBFCAYZC/v///x+DIBJC/////w+DfnwiETcDACAAIA1BA3RqIgUgESAFKQMAhUIgiSIRNwMAIAAgCUEDdGoiCSARIAkpAwAiEnwgEUL/////D4MgEkIBhkL+/\
///H4N+fCIRNwMAIAEgESABKQMAhUIoiSIRNwMAIBMgESATKQMAIhJ8IBFC/////w+DIBJCAYZC/v///x+DfnwiETcDACAFIBEgBSkDAIVCMIkiETcDACAJIBEgCSkDACISfCARQv////8PgyASQgGGQv7///8fg358IhE3AwAgASARIAEpAwCFQgGJNwMAIAAgAkEDd\
GoiDSANKQMAIhEgACAGQQN0aiICKQMAIhJ8IBFCAYZC/v///x+DIBJC/////w+DfnwiETcDACAAIA5BA3RqIgYgESAGKQMAhUIgiSIRNwMAIAAgCkEDdGoiCiARIAopAwAiEnwgEUL/////D4MgEkIBhkL+////H4N+fCIRNwMAIAIgESACKQMAhUIoiSIRNwMAIA0gE\
SANKQMAIhJ8IBFC/////w+DIBJCAYZC/v///x+DfnwiETcDACAGIBEgBikDAIVCMIkiETcDACAKIBEgCikDACISfCARQv////8PgyASQgGGQv7///8fg358IhE3AwAgAiARIAIpAwCFQgGJNwMAIAAgA0EDdGoiDiAOKQMAIhEgACAHQQN0aiIDKQMAIhJ8IBFCAYZC/\
v///x+DIBJC/////w+DfnwiETcDACAAIA9BA3RqIgcgESAHKQMAhUIgiSIRNwMAIAAgC0EDdGoiCyARIAspAwAiEnwgEUL/////D4MgEkIBhkL+////H4N+fCIRNwMAIAMgESADKQMAhUIoiSIRNwMAIA4gESAOKQMAIhJ8IBFC/////w+DIBJCAYZC/v///x+DfnwiE\
TcDACAHIBEgBykDAIVCMIkiETcDACALIBEgCykDACISfCARQv////8PgyASQgGGQv7///8fg358IhE3AwAgAyARIAMpAwCFQgGJNwMAIAAgBEEDdGoiDyAPKQMAIhEgACAIQQN0aiIEKQMAIhJ8IBFCAYZC/v///x+DIBJC/////w+DfnwiETcDACAAIBBBA3RqIgggE\
SAIKQMAhUIgiSIRNwMAIAAgDEEDdGoiACARIAApAwAiEnwgEUL/////D4MgEkIBhkL+////H4N+fCIRNwMAIAQgESAEKQMAhUIoiSIRNwMAIA8gESAPKQMAIhJ8IBFC/////w+DIBJCAYZC/v///x+DfnwiETcDACAIIBEgCCkDAIVCMIkiETcDACAAIBEgACkDACISf\
CARQv////8PgyASQgGGQv7///8fg358IhE3AwAgBCARIAQpAwCFQgGJNwMAIBMgEykDACIRIAIpAwAiEnwgEUIBhkL+////H4MgEkL/////D4N+fCIRNwMAIAggESAIKQMAhUIgiSIRNwMAIAsgESALKQMAIhJ8IBFC/////w+DIBJCAYZC/v///x+DfnwiETcDACACI\
BEgAikDAIVCKIkiETcDACATIBEgEykDACISfCARQv////8PgyASQgGGQv7///8fg358IhE3AwAgCCARIAgpAwCFQjCJIhE3AwAgCyARIAspAwAiEnwgEUL/////D4MgEkIBhkL+////H4N+fCIRNwMAIAIgESACKQMAhUIBiTcDACANIA0pAwAiESADKQMAIhJ8IBFCA\
YZC/v///x+DIBJC/////w+DfnwiETcDACAFIBEgBSkDAIVCIIkiETcDACAAIBEgACkDACISfCARQv////8PgyASQgGGQv7///8fg358IhE3AwAgAyARIAMpAwCFQiiJIhE3AwAgDSARIA0pAwAiEnwgEUL/////D4MgEkIBhkL+////H4N+fCIRNwMAIAUgESAFKQMAh\
UIwiSIRNwMAIAAgESAAKQMAIhJ8IBFC/////w+DIBJCAYZC/v///x+DfnwiETcDACADIBEgAykDAIVCAYk3AwAgDiAOKQMAIhEgBCkDACISfCARQgGGQv7///8fgyASQv////8Pg358IhE3AwAgBiARIAYpAwCFQiCJIhE3AwAgCSARIAkpAwAiEnwgEUL/////D4MgE\
kIBhkL+////H4N+fCIRNwMAIAQgESAEKQMAhUIoiSIRNwMAIA4gESAOKQMAIhJ8IBFC/////w+DIBJCAYZC/v///x+DfnwiETcDACAGIBEgBikDAIVCMIkiETcDACAJIBEgCSkDACISfCARQv////8PgyASQgGGQv7///8fg358IhE3AwAgBCARIAQpAwCFQgGJNwMAI\
A8gDykDACIRIAEpAwAiEnwgEUIBhkL+////H4MgEkL/////D4N+fCIRNwMAIAcgESAHKQMAhUIgiSIRNwMAIAogESAKKQMAIhJ8IBFC/////w+DIBJCAYZC/v///x+DfnwiETcDACABIBEgASkDAIVCKIkiETcDACAPIBEgDykDACISfCARQv////8PgyASQgGGQv7//\
/8fg358IhE3AwAgByARIAcpAwCFQjCJIhE3AwAgCiARIAopAwAiEnwgEUL/////D4MgEkIBhkL+////H4N+fCIRNwMAIAEgESABKQMAhUIBiTcDAAvdCAEPfwNAIAIgBUEDdCIGaiABIAZqKQMAIAAgBmopAwCFNwMAIAIgBkEIciIGaiABIAZqKQMAIAAgBmopAwCFN\
wMAIAVBAmoiBUGAAUcNAAsDQCADIARBA3QiAGogACACaikDADcDACADIARBAXIiAEEDdCIBaiABIAJqKQMANwMAIAMgBEECciIBQQN0IgVqIAIgBWopAwA3AwAgAyAEQQNyIgVBA3QiBmogAiAGaikDADcDACADIARBBHIiBkEDdCIHaiACIAdqKQMANwMAIAMgBEEFc\
iIHQQN0IghqIAIgCGopAwA3AwAgAyAEQQZyIghBA3QiCWogAiAJaikDADcDACADIARBB3IiCUEDdCIKaiACIApqKQMANwMAIAMgBEEIciIKQQN0IgtqIAIgC2opAwA3AwAgAyAEQQlyIgtBA3QiDGogAiAMaikDADcDACADIARBCnIiDEEDdCINaiACIA1qKQMANwMAI\
AMgBEELciINQQN0Ig5qIAIgDmopAwA3AwAgAyAEQQxyIg5BA3QiD2ogAiAPaikDADcDACADIARBDXIiD0EDdCIQaiACIBBqKQMANwMAIAMgBEEOciIQQQN0IhFqIAIgEWopAwA3AwAgAyAEQQ9yIhFBA3QiEmogAiASaikDADcDACADIARB//8DcSAAQf//A3EgAUH//\
wNxIAVB//8DcSAGQf//A3EgB0H//wNxIAhB//8DcSAJQf//A3EgCkH//wNxIAtB//8DcSAMQf//A3EgDUH//wNxIA5B//8DcSAPQf//A3EgEEH//wNxIBFB//8DcRACIARB8ABJIQAgBEEQaiEEIAANAAtBACEBIANBAEEBQRBBEUEgQSFBMEExQcAAQcEAQdAAQdEAQ\
eAAQeEAQfAAQfEAEAIgA0ECQQNBEkETQSJBI0EyQTNBwgBBwwBB0gBB0wBB4gBB4wBB8gBB8wAQAiADQQRBBUEUQRVBJEElQTRBNUHEAEHFAEHUAEHVAEHkAEHlAEH0AEH1ABACIANBBkEHQRZBF0EmQSdBNkE3QcYAQccAQdYAQdcAQeYAQecAQfYAQfcAEAIgA0EIQ\
QlBGEEZQShBKUE4QTlByABByQBB2ABB2QBB6ABB6QBB+ABB+QAQAiADQQpBC0EaQRtBKkErQTpBO0HKAEHLAEHaAEHbAEHqAEHrAEH6AEH7ABACIANBDEENQRxBHUEsQS1BPEE9QcwAQc0AQdwAQd0AQewAQe0AQfwAQf0AEAIgA0EOQQ9BHkEfQS5BL0E+QT9BzgBBz\
wBB3gBB3wBB7gBB7wBB/gBB/wAQAgNAIAIgAUEDdCIAaiIEIAAgA2opAwAgBCkDAIU3AwAgAiAAQQhyIgRqIgUgAyAEaikDACAFKQMAhTcDACACIABBEHIiBGoiBSADIARqKQMAIAUpAwCFNwMAIAIgAEEYciIAaiIEIAAgA2opAwAgBCkDAIU3AwAgAUEEaiIBQYABR\
w0ACwsWACAAIAEgAiADEAMgACACIAIgAxADC3sCAX8BfiACIQkgATUCACEKIAQgBXIEQCABKAIEIANwIQkLIAAgCTYCACAAIAdBAWsgBSAEGyAIbCAGQQFrQQBBfyAGGyACIAlGG2oiASAFQQFqIAhsQQAgBBtqIAGtIAogCn5CIIh+QiCIp0F/c2ogByAIbHA2AgQgA\
AsEACMACwYAIAAkAAsQACMAIABrQXBxIgAkACAACwUAQYAICw==",t)}var Vf,jc,Me,ha,fa,Bn,pa,Gc,Yf,qf,Jf,$f,Xf,Zf,ep,tp,rp,Pt,np,sp,Wc,lp,Cs,wp,qc=br(()=>{Vf=typeof window<"u"?window:typeof global<"u"?global:typeof self<
"u"?self:{};jc=new Uint32Array([4089235720,1779033703,2227873595,3144134277,4271175723,1013904242,1595750129,2773480762,2917565137,1359893119,725511199,2600822924,4215389547,528734635,327033209,1541459225]),
Me=new Uint8Array([0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,14,10,4,8,9,15,13,6,1,12,0,2,11,7,5,3,11,8,12,0,5,2,15,13,10,14,3,6,7,1,9,4,7,9,3,1,13,12,11,14,2,6,5,10,4,0,15,8,9,0,5,7,2,4,10,15,14,1,11,12,
6,8,3,13,2,12,6,10,0,11,8,3,4,13,7,5,15,14,1,9,12,5,1,15,14,13,4,10,0,7,6,3,9,2,8,11,13,11,7,14,12,1,3,9,5,0,15,4,8,6,2,10,6,15,14,9,11,3,0,8,12,2,13,7,1,4,10,5,10,2,8,4,7,6,1,5,15,11,9,14,3,12,13,0,0,
1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,14,10,4,8,9,15,13,6,1,12,0,2,11,7,5,3].map(t=>t*2));ha=class{constructor(e,r,n,s){let i=new Uint8Array(64);this.S={b:new Uint8Array(Bn),h:new Uint32Array(fa/4),t0:new Uint32Array(
2),c:0,outlen:e},i[0]=e,r&&(i[1]=r.length),i[2]=1,i[3]=1,n&&i.set(n,32),s&&i.set(s,48);let a=new Uint32Array(i.buffer,i.byteOffset,i.length/Uint32Array.BYTES_PER_ELEMENT);for(let o=0;o<16;o++)this.S.h[o]=
jc[o]^a[o];if(r){let o=new Uint8Array(Bn);o.set(r),this.update(o)}}update(e){if(!(e instanceof Uint8Array))throw new Error("Input must be Uint8Array or Buffer");let r=0;for(;r<e.length;){this.S.c===Bn&&
(Qc(this.S.t0,this.S.c),Hc(this.S,!1),this.S.c=0);let n=Bn-this.S.c;this.S.b.set(e.subarray(r,r+n),this.S.c);let s=Math.min(n,e.length-r);this.S.c+=s,r+=s}return this}digest(e){Qc(this.S.t0,this.S.c),
this.S.b.fill(0,this.S.c),this.S.c=Bn,Hc(this.S,!0);let r=e||new Uint8Array(this.S.outlen);for(let n=0;n<this.S.outlen;n++)r[n]=this.S.h[n>>2]>>8*(n&3);return this.S.h=null,r.buffer}};fa=64,Bn=128,pa=
2,Gc=19,Yf=4294967295,qf=4,Jf=4294967295,$f=8,Xf=4294967295,Zf=8,ep=4294967295,tp=4294967295,rp=32,Pt=1024,np=64,sp=new Uint8Array(new Uint16Array([43981]).buffer)[0]===205;Wc=1024,lp=64*Wc;wp=async()=>dp(
t=>yp(t),t=>gp(t))});var $c={};qr($c,{default:()=>mp,i:()=>Ep,legacyCiphers:()=>bp,nobleCurves:()=>Ap});var Jc,mp,Ap,bp,Ep,Xc=br(()=>{Jc=()=>{throw new Error("not supported by the securedoc decryptor: ./unbzip2-stream.mjs")},
mp=new Proxy({},{get:Jc}),Ap=new Map,bp=new Map,Ep={get default(){return Jc()}}});var _t=typeof window<"u"?window:typeof global<"u"?global:typeof self<"u"?self:{},hn=Symbol("doneWritingPromise"),$a=Symbol("doneWritingResolve"),Ll=Symbol("doneWritingReject"),Mn=Symbol("readingIndex"),
Je=class t extends Array{constructor(){super(),Object.setPrototypeOf(this,t.prototype),this[hn]=new Promise((e,r)=>{this[$a]=e,this[Ll]=r}),this[hn].catch(()=>{})}};Je.prototype.getReader=function(){return this[Mn]===
void 0&&(this[Mn]=0),{read:async()=>(await this[hn],this[Mn]===this.length?{value:void 0,done:!0}:{value:this[this[Mn]++],done:!1})}};Je.prototype.readToEnd=async function(t){await this[hn];let e=t(this.
slice(this[Mn]));return this.length=0,e};Je.prototype.clone=function(){let t=new Je;return t[hn]=this[hn].then(()=>{t.push(...this)}),t};function ie(t){return t&&t.getReader&&Array.isArray(t)}function Vn(t){
if(!ie(t)){let e=t.getWriter(),r=e.releaseLock;return e.releaseLock=()=>{e.closed.catch(function(){}),r.call(e)},e}this.stream=t}Vn.prototype.write=async function(t){this.stream.push(t)};Vn.prototype.
close=async function(){this.stream[$a]()};Vn.prototype.abort=async function(t){return this.stream[Ll](t),t};Vn.prototype.releaseLock=function(){};typeof _t.process=="object"&&_t.process.versions;function Ae(t){
if(ie(t))return"array";if(_t.ReadableStream&&_t.ReadableStream.prototype.isPrototypeOf(t))return"web";if(t&&!(_t.ReadableStream&&t instanceof _t.ReadableStream)&&typeof t._read=="function"&&typeof t._readableState==
"object")throw new Error("Native Node streams are no longer supported: please manually convert the stream to a WebStream, using e.g. `stream.Readable.toWeb`");return t&&t.getReader?"web-like":!1}function hi(t){
return Uint8Array.prototype.isPrototypeOf(t)}function Ml(t){if(t.length===1)return t[0];let e=0;for(let s=0;s<t.length;s++){if(!hi(t[s]))throw new Error("concatUint8Array: Data must be in the form of \
a Uint8Array");e+=t[s].length}let r=new Uint8Array(e),n=0;return t.forEach(function(s){r.set(s,n),n+=s.length}),r}var Zc=new WeakSet,X=Symbol("externalBuffer");function vt(t){if(this.stream=t,t[X]&&(this[X]=
t[X].slice()),ie(t)){let n=t.getReader();this._read=n.read.bind(n),this._releaseLock=()=>{},this._cancel=()=>{};return}if(Ae(t)){let n=t.getReader();this._read=n.read.bind(n),this._releaseLock=()=>{n.
closed.catch(function(){}),n.releaseLock()},this._cancel=n.cancel.bind(n);return}let r=!1;this._read=async()=>r||Zc.has(t)?{value:void 0,done:!0}:(r=!0,{value:t,done:!1}),this._releaseLock=()=>{if(r)try{
Zc.add(t)}catch{}}}vt.prototype.read=async function(){return this[X]&&this[X].length?{done:!1,value:this[X].shift()}:this._read()};vt.prototype.releaseLock=function(){this[X]&&(this.stream[X]=this[X]),
this._releaseLock()};vt.prototype.cancel=function(t){return this._cancel(t)};vt.prototype.readLine=async function(){let t=[],e;for(;!e;){let{done:r,value:n}=await this.read();if(n+="",r)return t.length?
Ce(t):void 0;let s=n.indexOf(`
`)+1;s&&(e=Ce(t.concat(n.substr(0,s))),t=[]),s!==n.length&&t.push(n.substr(s))}return this.unshift(...t),e};vt.prototype.readByte=async function(){let{done:t,value:e}=await this.read();if(t)return;let r=e[0];
return this.unshift(Te(e,1)),r};vt.prototype.readBytes=async function(t){let e=[],r=0;for(;;){let{done:n,value:s}=await this.read();if(n)return e.length?Ce(e):void 0;if(e.push(s),r+=s.length,r>=t){let i=Ce(
e);return this.unshift(Te(i,t)),Te(i,0,t)}}};vt.prototype.peekBytes=async function(t){let e=await this.readBytes(t);return this.unshift(e),e};vt.prototype.unshift=function(...t){if(this[X]||(this[X]=[]),
t.length===1&&hi(t[0])&&this[X].length&&t[0].length&&this[X][0].byteOffset>=t[0].length){this[X][0]=new Uint8Array(this[X][0].buffer,this[X][0].byteOffset-t[0].length,this[X][0].byteLength+t[0].length);
return}this[X].unshift(...t.filter(e=>e&&e.length))};vt.prototype.readToEnd=async function(t=Ce){let e=[];for(;;){let{done:r,value:n}=await this.read();if(r)break;e.push(n)}return t(e)};function Yn(t){
return Ae(t)?t:new ReadableStream({start(e){e.enqueue(t),e.close()}})}function Rl(t){let e=Ae(t);if(e){if(e!=="array")throw new Error("Can't convert Stream to ArrayStream here, call `readToEnd` first");
return t}let r=new Je;return(async()=>{let n=$e(r);await n.write(t),await n.close()})(),r}function Ce(t){return t.some(e=>Ae(e)&&!ie(e))?kp(t):t.some(e=>ie(e))?xp(t):typeof t[0]=="string"?t.join(""):Ml(
t)}function kp(t){let e=t.map(Yn),r=_l(async function(i){await Promise.all(s.map(a=>Da(a,i)))}),n=Promise.resolve(),s=e.map((i,a)=>cr(i,(o,c)=>(n=n.then(()=>mn(o,r.writable,{preventClose:a!==e.length-
1})),n)));return r.readable}function xp(t){let e=new Je,r=Promise.resolve();return t.forEach((n,s)=>(r=r.then(()=>mn(n,e,{preventClose:s!==t.length-1})),r)),e}async function mn(t,e,{preventClose:r=!1,
preventAbort:n=!1,preventCancel:s=!1}={}){if(Ae(t)&&!ie(t)&&!ie(e)){t=Yn(t);try{if(t[X]){let o=$e(e);for(let c=0;c<t[X].length;c++)await o.ready,await o.write(t[X][c]);o.releaseLock()}await t.pipeTo(e,
{preventClose:r,preventAbort:n,preventCancel:s})}catch{}return}Ae(t)||(t=Rl(t));let i=ut(t),a=$e(e);try{for(;;){await a.ready;let{done:o,value:c}=await i.read();if(o){r||await a.close();break}await a.
write(c)}}catch(o){n||await a.abort(o)}finally{i.releaseLock(),a.releaseLock()}}function _l(t){let e=!1,r=!1,n,s,i;return{readable:new ReadableStream({start(a){i=a},pull(){n?n():e=!0},async cancel(a){
r=!0,t&&await t(a),s&&s(a)}},{highWaterMark:0}),writable:new WritableStream({write:async function(a){if(r)throw new Error("Stream is cancelled");i.enqueue(a),e?e=!1:(await new Promise((o,c)=>{n=o,s=c}),
n=null,s=null)},close:i.close.bind(i),abort:i.error.bind(i)})}}function me(t,e=()=>{},r=()=>{},n={highWaterMark:0}){if(Ae(t))return Fl(t,e,r,n);let s=e(t),i=r();return s!==void 0&&i!==void 0?Ce([s,i]):
s!==void 0?s:i}async function Ba(t,e=async()=>{},r=async()=>{},n={highWaterMark:1}){if(Ae(t))return Fl(t,e,r,n);let s=await e(t),i=await r();return s!==void 0&&i!==void 0?Ce([s,i]):s!==void 0?s:i}function Fl(t,e,r,n){
if(ie(t)){let s=new Je;return(async()=>{let i=$e(s);try{let a=await ge(t),o=await e(a),c=await r(),u;o!==void 0&&c!==void 0?u=Ce([o,c]):u=o!==void 0?o:c,await i.write(u),await i.close()}catch(a){await i.
abort(a)}})(),s}if(Ae(t)){let s,i=!1;return new ReadableStream({start(){s=t.getReader()},async pull(a){if(i){a.close(),t.releaseLock();return}try{for(;;){let{value:o,done:c}=await s.read();i=c;let u=await(c?
r:e)(o);if(u!==void 0){a.enqueue(u);return}if(c){a.close(),t.releaseLock();return}}}catch(o){a.error(o)}},async cancel(a){await s.cancel(a)}},n)}throw new Error("Unreachable")}function cr(t,e){if(Ae(t)&&
!ie(t)){let n,s=new TransformStream({start(o){n=o}}),i=mn(t,s.writable),a=_l(async function(o){n.error(o),await i,await new Promise(c=>setTimeout(c))});return e(s.readable,a.writable),a.readable}t=Rl(
t);let r=new Je;return e(t,r),r}function fi(t,e){let r,n=cr(t,(s,i)=>{let a=ut(s);a.remainder=()=>(a.releaseLock(),mn(s,i),n),r=e(a)});return r}function Sp(t){if(ie(t))throw new Error("ArrayStream can\
not be tee()d, use clone() instead");if(Ae(t)){let e=Yn(t).tee();return e[0][X]=e[1][X]=t[X],e}return[Te(t),Te(t)]}function Br(t){if(ie(t))return t.clone();if(Ae(t)){let e=Sp(t);return Nl(t,e[0]),e[1]}
return Te(t)}function _n(t){return ie(t)?Br(t):Ae(t)?new ReadableStream({start(e){let r=cr(t,async(n,s)=>{let i=ut(n),a=$e(s);try{for(;;){await a.ready;let{done:o,value:c}=await i.read();if(o){try{e.close()}catch{}
await a.close();return}try{e.enqueue(c)}catch{}await a.write(c)}}catch(o){e.error(o),await a.abort(o)}});Nl(t,r)}}):Te(t)}function Nl(t,e){Object.entries(Object.getOwnPropertyDescriptors(t.constructor.
prototype)).forEach(([r,n])=>{r!=="constructor"&&(n.value?n.value=n.value.bind(e):n.get=n.get.bind(e),Object.defineProperty(t,r,n))})}function Te(t,e=0,r=1/0){if(ie(t))throw new Error("Not implemented");
if(Ae(t)){if(e>=0&&r>=0){let n,s=0;return new ReadableStream({start(){n=t.getReader()},async pull(i){try{for(;;)if(s<r){let{value:a,done:o}=await n.read();if(o){i.close(),t.releaseLock();return}let c;
if(s+a.length>=e&&(c=Te(a,Math.max(e-s,0),r-s)),s+=a.length,c){i.enqueue(c);return}}else{i.close(),t.releaseLock();return}}catch(a){i.error(a)}},async cancel(i){await n.cancel(i)}},{highWaterMark:0})}
if(e<0&&(r<0||r===1/0)){let n=[];return me(t,s=>{s.length>=-e?n=[s]:n.push(s)},()=>Te(Ce(n),e,r))}if(e===0&&r<0){let n;return me(t,s=>{let i=n?Ce([n,s]):s;if(i.length>=-r)return n=Te(i,r),Te(i,e,r);n=
i})}return console.warn(`stream.slice(input, ${e}, ${r}) not implemented efficiently.`),Lr(async()=>Te(await ge(t),e,r))}return t[X]&&(t=Ce(t[X].concat([t]))),hi(t)?t.subarray(e,r===1/0?t.length:r):t.
slice(e,r)}async function ge(t,e=Ce){return ie(t)?t.readToEnd(e):Ae(t)?ut(t).readToEnd(e):t}async function Da(t,e){if(Ae(t)){if(t.cancel){let r=await t.cancel(e);return await new Promise(n=>setTimeout(
n)),r}if(t.destroy)return t.destroy(e),await new Promise(r=>setTimeout(r)),e}}function Lr(t){let e=new Je;return(async()=>{let r=$e(e);try{await r.write(await t()),await r.close()}catch(n){await r.abort(
n)}})(),e}function ut(t){return new vt(t)}function $e(t){return new Vn(t)}var Dn=Symbol("byValue"),l={curve:{nistP256:"nistP256",p256:"nistP256",nistP384:"nistP384",p384:"nistP384",nistP521:"nistP521",
p521:"nistP521",secp256k1:"secp256k1",ed25519Legacy:"ed25519Legacy",ed25519:"ed25519Legacy",curve25519Legacy:"curve25519Legacy",curve25519:"curve25519Legacy",brainpoolP256r1:"brainpoolP256r1",brainpoolP384r1:"\
brainpoolP384r1",brainpoolP512r1:"brainpoolP512r1"},s2k:{simple:0,salted:1,iterated:3,argon2:4,gnu:101},publicKey:{rsaEncryptSign:1,rsaEncrypt:2,rsaSign:3,elgamal:16,dsa:17,ecdh:18,ecdsa:19,eddsaLegacy:22,
aedh:23,aedsa:24,x25519:25,x448:26,ed25519:27,ed448:28},symmetric:{idea:1,tripledes:2,cast5:3,blowfish:4,aes128:7,aes192:8,aes256:9,twofish:10},compression:{uncompressed:0,zip:1,zlib:2,bzip2:3},hash:{
md5:1,sha1:2,ripemd:3,sha256:8,sha384:9,sha512:10,sha224:11,sha3_256:12,sha3_512:14},webHash:{"SHA-1":2,"SHA-256":8,"SHA-384":9,"SHA-512":10},aead:{eax:1,ocb:2,gcm:3,experimentalGCM:100},packet:{publicKeyEncryptedSessionKey:1,
signature:2,symEncryptedSessionKey:3,onePassSignature:4,secretKey:5,publicKey:6,secretSubkey:7,compressedData:8,symmetricallyEncryptedData:9,marker:10,literalData:11,trust:12,userID:13,publicSubkey:14,
userAttribute:17,symEncryptedIntegrityProtectedData:18,modificationDetectionCode:19,aeadEncryptedData:20,padding:21},literal:{binary:98,text:116,utf8:117,mime:109},signature:{binary:0,text:1,standalone:2,
certGeneric:16,certPersona:17,certCasual:18,certPositive:19,certRevocation:48,subkeyBinding:24,keyBinding:25,key:31,keyRevocation:32,subkeyRevocation:40,timestamp:64,thirdParty:80},signatureSubpacket:{
signatureCreationTime:2,signatureExpirationTime:3,exportableCertification:4,trustSignature:5,regularExpression:6,revocable:7,keyExpirationTime:9,placeholderBackwardsCompatibility:10,preferredSymmetricAlgorithms:11,
revocationKey:12,issuerKeyID:16,notationData:20,preferredHashAlgorithms:21,preferredCompressionAlgorithms:22,keyServerPreferences:23,preferredKeyServer:24,primaryUserID:25,policyURI:26,keyFlags:27,signersUserID:28,
reasonForRevocation:29,features:30,signatureTarget:31,embeddedSignature:32,issuerFingerprint:33,preferredAEADAlgorithms:34,preferredCipherSuites:39},keyFlags:{certifyKeys:1,signData:2,encryptCommunication:4,
encryptStorage:8,splitPrivateKey:16,authentication:32,sharedPrivateKey:128},armor:{multipartSection:0,multipartLast:1,signed:2,message:3,publicKey:4,privateKey:5,signature:6},reasonForRevocation:{noReason:0,
keySuperseded:1,keyCompromised:2,keyRetired:3,userIDInvalid:32},features:{modificationDetection:1,aead:2,v5Keys:4,seipdv2:8},write:function(t,e){if(typeof e=="number"&&(e=this.read(t,e)),t[e]!==void 0)
return t[e];throw new Error("Invalid enum value.")},read:function(t,e){if(t[Dn]||(t[Dn]=[],Object.entries(t).forEach(([r,n])=>{t[Dn][n]=r})),t[Dn][e]!==void 0)return t[Dn][e];throw new Error("Invalid \
enum value.")}},L={preferredHashAlgorithm:l.hash.sha512,preferredSymmetricAlgorithm:l.symmetric.aes256,preferredCompressionAlgorithm:l.compression.uncompressed,aeadProtect:!1,parseAEADEncryptedV4KeysAsLegacy:!1,
preferredAEADAlgorithm:l.aead.gcm,aeadChunkSizeByte:12,v6Keys:!1,enableParsingV5Entities:!1,s2kType:l.s2k.iterated,s2kIterationCountByte:224,s2kArgon2Params:{passes:3,parallelism:4,memoryExponent:16},
maxArgon2MemoryExponent:30,allowUnauthenticatedMessages:!1,allowUnauthenticatedStream:!1,minRSABits:2047,passwordCollisionCheck:!1,allowInsecureDecryptionWithSigningKeys:!1,allowInsecureVerificationWithReformattedKeys:!1,
allowMissingKeyFlags:!1,constantTimePKCS1Decryption:!1,constantTimePKCS1DecryptionSupportedSymmetricAlgorithms:new Set([l.symmetric.aes128,l.symmetric.aes192,l.symmetric.aes256]),ignoreUnsupportedPackets:!0,
ignoreMalformedPackets:!1,enforceGrammar:!0,additionalAllowedPackets:[],showVersion:!1,showComment:!1,versionString:"OpenPGP.js 6.3.2",commentString:"https://openpgpjs.org",maxUserIDLength:1024*5,maxDecompressedMessageSize:1/0,
knownNotations:[],nonDeterministicSignaturesViaNotation:!0,useEllipticFallback:!0,rejectHashAlgorithms:new Set([l.hash.md5,l.hash.ripemd]),rejectMessageHashAlgorithms:new Set([l.hash.md5,l.hash.ripemd,
l.hash.sha1]),rejectPublicKeyAlgorithms:new Set([l.publicKey.elgamal,l.publicKey.dsa]),rejectCurves:new Set([l.curve.secp256k1])},vp=()=>()=>{},el=(()=>{try{return!1}catch{}return!1})(),p={isString:function(t){
return typeof t=="string"||t instanceof String},nodeRequire:vp(),isArray:function(t){return t instanceof Array},isUint8Array:hi,isStream:Ae,getNobleCurve:async(t,e)=>{if(!L.useEllipticFallback)throw new Error(
"This curve is only supported in the full build of OpenPGP.js");let{nobleCurves:r}=await Promise.resolve().then(()=>(bc(),Ac));switch(t){case l.publicKey.ecdh:case l.publicKey.ecdsa:{let n=r.get(e);if(!n)
throw new Error("Unsupported curve");return n}case l.publicKey.x448:return r.get("x448");case l.publicKey.ed448:return r.get("ed448");default:throw new Error("Unsupported curve")}},readNumber:function(t){
let e=0;for(let r=0;r<t.length;r++)e+=256**r*t[t.length-1-r];return e},writeNumber:function(t,e){let r=new Uint8Array(e);for(let n=0;n<e;n++)r[n]=t>>8*(e-n-1)&255;return r},readDate:function(t){let e=p.
readNumber(t);return new Date(e*1e3)},writeDate:function(t){let e=Math.floor(t.getTime()/1e3);return p.writeNumber(e,4)},normalizeDate:function(t=Date.now()){return t===null||t===1/0?t:new Date(Math.floor(
+t/1e3)*1e3)},readMPI:function(t){let r=(t[0]<<8|t[1])+7>>>3;return p.readExactSubarray(t,2,2+r)},readExactSubarray:function(t,e,r){if(t.length<r)throw new Error("Input array too short");return t.subarray(
e,r)},leftPad(t,e){if(t.length>e)throw new Error("Input array too long");let r=new Uint8Array(e),n=e-t.length;return r.set(t,n),r},uint8ArrayToMPI:function(t){let e=p.uint8ArrayBitLength(t);if(e===0)throw new Error(
"Zero MPI");let r=t.subarray(t.length-Math.ceil(e/8)),n=new Uint8Array([(e&65280)>>8,e&255]);return p.concatUint8Array([n,r])},uint8ArrayBitLength:function(t){let e;for(e=0;e<t.length&&t[e]===0;e++);if(e===
t.length)return 0;let r=t.subarray(e);return(r.length-1)*8+p.nbits(r[0])},hexToUint8Array:function(t){let e=new Uint8Array(t.length>>1);for(let r=0;r<t.length>>1;r++)e[r]=parseInt(t.substr(r<<1,2),16);
return e},uint8ArrayToHex:function(t){let e="0123456789abcdef",r="";return t.forEach(n=>{r+=e[n>>4]+e[n&15]}),r},stringToUint8Array:function(t){return me(t,e=>{if(!p.isString(e))throw new Error("strin\
gToUint8Array: Data must be in the form of a string");let r=new Uint8Array(e.length);for(let n=0;n<e.length;n++)r[n]=e.charCodeAt(n);return r})},uint8ArrayToString:function(t){t=new Uint8Array(t);let e=[],
r=16384,n=t.length;for(let s=0;s<n;s+=r)e.push(String.fromCharCode.apply(String,t.subarray(s,s+r<n?s+r:n)));return e.join("")},encodeUTF8:function(t){let e=new TextEncoder("utf-8");function r(n,s=!1){
return e.encode(n,{stream:!s})}return me(t,r,()=>r("",!0))},decodeUTF8:function(t){let e=new TextDecoder("utf-8");function r(n,s=!1){return e.decode(n,{stream:!s})}return me(t,r,()=>r(new Uint8Array,!0))},
concat:Ce,concatUint8Array:Ml,equalsUint8Array:function(t,e){if(!p.isUint8Array(t)||!p.isUint8Array(e))throw new Error("Data must be in the form of a Uint8Array");if(t.length!==e.length)return!1;for(let r=0;r<
t.length;r++)if(t[r]!==e[r])return!1;return!0},findLastIndex:function(t,e){for(let r=t.length;r>=0;r--)if(e(t[r],r,t))return r;return-1},timingSafeEqualsUint8Array:function(t,e){if(t.length!==e.length)
throw new Error("Equal input arrays expected");let r=1;for(let n=0;n<t.length;n++)r&=t[n]===e[n];return!!r},writeChecksum:function(t){let e=0;for(let r=0;r<t.length;r++)e=e+t[r]&65535;return p.writeNumber(
e,2)},printDebug:function(t){el&&console.log("[OpenPGP.js debug]",t)},printDebugError:function(t){el&&console.error("[OpenPGP.js debug]",t)},nbits:function(t){let e=1,r=t>>>16;return r!==0&&(t=r,e+=16),
r=t>>8,r!==0&&(t=r,e+=8),r=t>>4,r!==0&&(t=r,e+=4),r=t>>2,r!==0&&(t=r,e+=2),r=t>>1,r!==0&&(t=r,e+=1),e},double:function(t){let e=new Uint8Array(t.length),r=t.length-1;for(let n=0;n<r;n++)e[n]=t[n]<<1^t[n+
1]>>7;return e[r]=t[r]<<1^(t[0]>>7)*135,e},shiftRight:function(t,e){if(e)for(let r=t.length-1;r>=0;r--)t[r]>>=e,r>0&&(t[r]|=t[r-1]<<8-e);return t},getWebCrypto:function(){let e=typeof _t<"u"&&_t.crypto&&
_t.crypto.subtle||this.getNodeCrypto()?.webcrypto.subtle;if(!e)throw new Error("The WebCrypto API is not available");return e},getNodeCrypto:function(){return this.nodeRequire("crypto")},getNodeZlib:function(){
return this.nodeRequire("zlib")},getNodeBuffer:function(){return(this.nodeRequire("buffer")||{}).Buffer},getHardwareConcurrency:function(){return typeof navigator<"u"?navigator.hardwareConcurrency||1:
this.nodeRequire("os").cpus().length},isEmailAddress:function(t){return p.isString(t)?/^[^\p{C}\p{Z}@<>\\]+@[^\p{C}\p{Z}@<>\\]+[^\p{C}\p{Z}\p{P}]$/u.test(t):!1},canonicalizeEOL:function(t){let n=!1;return me(
t,s=>{n&&(s=p.concatUint8Array([new Uint8Array([13]),s])),s[s.length-1]===13?(n=!0,s=s.subarray(0,-1)):n=!1;let i,a=[];for(let u=0;i=s.indexOf(10,u)+1,i;u=i)s[i-2]!==13&&a.push(i);if(!a.length)return s;
let o=new Uint8Array(s.length+a.length),c=0;for(let u=0;u<a.length;u++){let h=s.subarray(a[u-1]||0,a[u]);o.set(h,c),c+=h.length,o[c-1]=13,o[c]=10,c++}return o.set(s.subarray(a[a.length-1]||0),c),o},()=>n?
new Uint8Array([13]):void 0)},nativeEOL:function(t){let n=!1;return me(t,s=>{n&&s[0]!==10?s=p.concatUint8Array([new Uint8Array([13]),s]):s=new Uint8Array(s),s[s.length-1]===13?(n=!0,s=s.subarray(0,-1)):
n=!1;let i,a=0;for(let o=0;o!==s.length;o=i){i=s.indexOf(13,o)+1,i||(i=s.length);let c=i-(s[i]===10?1:0);o&&s.copyWithin(a,o,c),a+=c-o}return s.subarray(0,a)},()=>n?new Uint8Array([13]):void 0)},removeTrailingSpaces:function(t){
return t.split(`
`).map(e=>{let r=e.length-1;for(;r>=0&&(e[r]===" "||e[r]==="\x09"||e[r]==="\r");r--);return e.substr(0,r+1)}).join(`
`)},wrapError:function(t,e){if(!e)return t instanceof Error?t:new Error(t);if(t instanceof Error){try{t.message+=": "+e.message,t.cause=e}catch{}return t}return new Error(t+": "+e.message,{cause:e})},
constructAllowedPackets:function(t){let e={};return t.forEach(r=>{if(!r.tag)throw new Error("Invalid input: expected a packet class");e[r.tag]=r}),e},anyPromise:function(t){return new Promise((e,r)=>{
let n;Promise.all(t.map(async s=>{try{e(await s)}catch(i){n=i}})).then(()=>{r(n)})})},selectUint8Array:function(t,e,r){let n=Math.max(e.length,r.length),s=new Uint8Array(n),i=0;for(let a=0;a<s.length;a++)
s[a]=e[a]&256-t|r[a]&255+t,i+=t&a<e.length|1-t&a<r.length;return s.subarray(0,i)},selectUint8:function(t,e,r){return e&256-t|r&255+t},isAES:function(t){return t===l.symmetric.aes128||t===l.symmetric.aes192||
t===l.symmetric.aes256}},da=p.getNodeBuffer(),Os,Qs;da?(Os=t=>da.from(t).toString("base64"),Qs=t=>{let e=da.from(t,"base64");return new Uint8Array(e.buffer,e.byteOffset,e.byteLength)}):(Os=t=>btoa(p.uint8ArrayToString(
t)),Qs=t=>p.stringToUint8Array(atob(t)));function Mt(t){let e=new Uint8Array;return me(t,r=>{e=p.concatUint8Array([e,r]);let n=[],s=45,i=Math.floor(e.length/s),a=i*s,o=Os(e.subarray(0,a));for(let c=0;c<
i;c++)n.push(o.substr(c*60,60)),n.push(`
`);return e=e.subarray(a),n.join("")},()=>e.length?Os(e)+`
`:"")}function Ol(t){let e="";return me(t,r=>{e+=r;let n=0,s=[" ","\x09","\r",`
`];for(let o=0;o<s.length;o++){let c=s[o];for(let u=e.indexOf(c);u!==-1;u=e.indexOf(c,u+1))n++}let i=e.length;for(;i>0&&(i-n)%4!==0;i--)s.includes(e[i])&&n--;let a=Qs(e.substr(0,i));return e=e.substr(
i),a},()=>Qs(e))}function Ot(t){return Ol(t.replace(/-/g,"+").replace(/_/g,"/"))}function Pe(t,e){let r=Mt(t).replace(/[\r\n]/g,"");return r=r.replace(/[+]/g,"-").replace(/[/]/g,"_").replace(/[=]/g,""),
r}function Cp(t){let e=/^-----BEGIN PGP (MESSAGE, PART \d+\/\d+|MESSAGE, PART \d+|SIGNED MESSAGE|MESSAGE|PUBLIC KEY BLOCK|PRIVATE KEY BLOCK|SIGNATURE)-----$/m,r=t.match(e);if(!r)throw new Error("Unkno\
wn ASCII armor type");if(/MESSAGE, PART \d+\/\d+/.test(r[1]))return l.armor.multipartSection;if(/MESSAGE, PART \d+/.test(r[1]))return l.armor.multipartLast;if(/SIGNED MESSAGE/.test(r[1]))return l.armor.
signed;if(/MESSAGE/.test(r[1]))return l.armor.message;if(/PUBLIC KEY BLOCK/.test(r[1]))return l.armor.publicKey;if(/PRIVATE KEY BLOCK/.test(r[1]))return l.armor.privateKey;if(/SIGNATURE/.test(r[1]))return l.
armor.signature}function Sr(t,e){let r="";return e.showVersion&&(r+="Version: "+e.versionString+`
`),e.showComment&&(r+="Comment: "+e.commentString+`
`),t&&(r+="Comment: "+t+`
`),r+=`
`,r}function vr(t){let e=Bp(t);return Mt(e)}var ve=[new Array(255),new Array(255),new Array(255),new Array(255)];for(let t=0;t<=255;t++){let e=t<<16;for(let r=0;r<8;r++)e=e<<1^((e&8388608)!==0?8801531:
0);ve[0][t]=(e&16711680)>>16|e&65280|(e&255)<<16}for(let t=0;t<=255;t++)ve[1][t]=ve[0][t]>>8^ve[0][ve[0][t]&255];for(let t=0;t<=255;t++)ve[2][t]=ve[1][t]>>8^ve[0][ve[1][t]&255];for(let t=0;t<=255;t++)
ve[3][t]=ve[2][t]>>8^ve[0][ve[2][t]&255];var Ip=(function(){let t=new ArrayBuffer(2);return new DataView(t).setInt16(0,255,!0),new Int16Array(t)[0]===255})();function Bp(t){let e=13501623;return me(t,
r=>{let n=Ip?Math.floor(r.length/4):0,s=new Uint32Array(r.buffer,r.byteOffset,n);for(let i=0;i<n;i++)e^=s[i],e=ve[0][e>>24&255]^ve[1][e>>16&255]^ve[2][e>>8&255]^ve[3][e>>0&255];for(let i=n*4;i<r.length;i++)
e=e>>8^ve[0][e&255^r[i]]},()=>new Uint8Array([e,e>>8,e>>16]))}function tl(t){for(let e=0;e<t.length;e++)/^([^\s:]|[^\s:][^:]*[^\s:]): .+$/.test(t[e])||p.printDebugError(new Error("Improperly formatted\
 armor header: "+t[e])),/^(Version|Comment|MessageID|Hash|Charset): .+$/.test(t[e])||p.printDebugError(new Error("Unknown header: "+t[e]))}function Dp(t){let e=t,r=t.lastIndexOf("=");return r>=0&&r!==
t.length-1&&(e=t.slice(0,r)),e}function Xa(t){return new Promise((e,r)=>{try{let n=/^-----[^-]+-----$/m,s=/^[ \f\r\t\u00a0\u2000-\u200a\u202f\u205f\u3000]*$/,i,a=[],o=a,c,u=[],h,f=Ol(cr(t,async(d,g)=>{
let w=ut(d);try{for(;;){let A=await w.readLine();if(A===void 0)throw new Error("Misformed armored text");if(A=p.removeTrailingSpaces(A.replace(/[\r\n]/g,"")),!i)n.test(A)&&(i=Cp(A));else if(c)!h&&i===
l.armor.signed&&(n.test(A)?(u=u.join(`\r
`),h=!0,tl(o),o=[],c=!1):u.push(A.replace(/^- /,"")));else if(n.test(A)&&r(new Error("Mandatory blank line missing between armor headers and armor data")),!s.test(A))o.push(A);else if(tl(o),c=!0,h||i!==
l.armor.signed){e({text:u,data:f,headers:a,type:i});break}}}catch(A){r(A);return}let b=$e(g);try{for(;;){await b.ready;let{done:A,value:k}=await w.read();if(A)throw new Error("Misformed armored text");
let E=k+"";if(E.indexOf("=")===-1&&E.indexOf("-")===-1)await b.write(E);else{let S=await w.readToEnd();S.length||(S=""),S=E+S,S=p.removeTrailingSpaces(S.replace(/\r/g,""));let v=S.split(n);if(v.length===
1)throw new Error("Misformed armored text");let K=Dp(v[0].slice(0,-1));await b.write(K);break}}await b.ready,await b.close()}catch(A){await b.abort(A)}}))}catch(n){r(n)}}).then(async e=>(ie(e.data)&&(e.
data=await ge(e.data)),e))}function Za(t,e,r,n,s,i=!1,a=L){let o,c;t===l.armor.signed&&(o=e.text,c=e.hash,e=e.data);let u=i&&_n(e),h=[];switch(t){case l.armor.multipartSection:h.push("-----BEGIN PGP M\
ESSAGE, PART "+r+"/"+n+`-----
`),h.push(Sr(s,a)),h.push(Mt(e)),u&&h.push("=",vr(u)),h.push("-----END PGP MESSAGE, PART "+r+"/"+n+`-----
`);break;case l.armor.multipartLast:h.push("-----BEGIN PGP MESSAGE, PART "+r+`-----
`),h.push(Sr(s,a)),h.push(Mt(e)),u&&h.push("=",vr(u)),h.push("-----END PGP MESSAGE, PART "+r+`-----
`);break;case l.armor.signed:h.push(`-----BEGIN PGP SIGNED MESSAGE-----
`),h.push(c?`Hash: ${c}

`:`
`),h.push(o.replace(/^-/mg,"- -")),h.push(`
-----BEGIN PGP SIGNATURE-----
`),h.push(Sr(s,a)),h.push(Mt(e)),u&&h.push("=",vr(u)),h.push(`-----END PGP SIGNATURE-----
`);break;case l.armor.message:h.push(`-----BEGIN PGP MESSAGE-----
`),h.push(Sr(s,a)),h.push(Mt(e)),u&&h.push("=",vr(u)),h.push(`-----END PGP MESSAGE-----
`);break;case l.armor.publicKey:h.push(`-----BEGIN PGP PUBLIC KEY BLOCK-----
`),h.push(Sr(s,a)),h.push(Mt(e)),u&&h.push("=",vr(u)),h.push(`-----END PGP PUBLIC KEY BLOCK-----
`);break;case l.armor.privateKey:h.push(`-----BEGIN PGP PRIVATE KEY BLOCK-----
`),h.push(Sr(s,a)),h.push(Mt(e)),u&&h.push("=",vr(u)),h.push(`-----END PGP PRIVATE KEY BLOCK-----
`);break;case l.armor.signature:h.push(`-----BEGIN PGP SIGNATURE-----
`),h.push(Sr(s,a)),h.push(Mt(e)),u&&h.push("=",vr(u)),h.push(`-----END PGP SIGNATURE-----
`);break}return p.concat(h)}var kt=BigInt(0),Ls=BigInt(1);function H(t){let e="0123456789ABCDEF",r="";return t.forEach(n=>{r+=e[n>>4]+e[n&15]}),BigInt("0x0"+r)}function ee(t,e){let r=t%e;return r<kt?r+
e:r}function Kp(t,e,r){let n=-t;return e&n|r&~n}function tt(t,e,r){if(r===kt)throw Error("Modulo cannot be zero");if(r===Ls)return BigInt(0);if(e<kt)throw Error("Unsopported negative exponent");let n=e,
s=t;s%=r;let i=BigInt(1);for(;n>kt;){let a=n&Ls;n>>=Ls;let o=i*s%r;i=Kp(a,o,i),s=s*s%r}return i}function rl(t){return t>=kt?t:-t}function Pp(t,e){let r=BigInt(0),n=BigInt(1),s=BigInt(1),i=BigInt(0),a=rl(
t),o=rl(e),c=t<kt,u=e<kt;for(;o!==kt;){let h=a/o,f=r;r=s-h*r,s=f,f=n,n=i-h*n,i=f,f=o,o=a%o,a=f}return{x:c?-s:s,y:u?-i:i,gcd:a}}function pi(t,e){let{gcd:r,x:n}=Pp(t,e);if(r!==Ls)throw new Error("Invers\
e does not exist");return ee(n+e,e)}function je(t){let e=t<kt?BigInt(-1):kt,r=BigInt(8),n=1,s=t;for(;(s>>=r)!==e;)n++;return n}function Xe(t,e="be",r){let n=t.toString(16);n.length%2===1&&(n="0"+n);let s=n.length/2,i=new Uint8Array(r||s),
a=r?r-s:0,o=0;for(;o<s;)i[o+a]=parseInt(n.slice(2*o,2*o+2),16),o++;return e!=="be"&&i.reverse(),i}var Tp=p.getNodeCrypto();function st(t){let e=typeof crypto<"u"?crypto:Tp?.webcrypto;if(e?.getRandomValues){
let r=new Uint8Array(t);return e.getRandomValues(r)}else throw new Error("No secure random number generator available.")}function eo(t,e){if(e<t)throw new Error("Illegal parameter value: max <= min");
let r=e-t,n=je(r),s=H(st(n+8));return ee(s,r)+t}var dm=BigInt(1);var ym=[7,11,13,17,19,23,29,31,37,41,43,47,53,59,61,67,71,73,79,83,89,97,101,103,107,109,113,127,131,137,139,149,151,157,163,167,173,179,181,191,193,197,199,211,223,227,229,233,239,241,251,257,263,269,
271,277,281,283,293,307,311,313,317,331,337,347,349,353,359,367,373,379,383,389,397,401,409,419,421,431,433,439,443,449,457,461,463,467,479,487,491,499,503,509,521,523,541,547,557,563,569,571,577,587,
593,599,601,607,613,617,619,631,641,643,647,653,659,661,673,677,683,691,701,709,719,727,733,739,743,751,757,761,769,773,787,797,809,811,821,823,827,829,839,853,857,859,863,877,881,883,887,907,911,919,
929,937,941,947,953,967,971,977,983,991,997,1009,1013,1019,1021,1031,1033,1039,1049,1051,1061,1063,1069,1087,1091,1093,1097,1103,1109,1117,1123,1129,1151,1153,1163,1171,1181,1187,1193,1201,1213,1217,1223,
1229,1231,1237,1249,1259,1277,1279,1283,1289,1291,1297,1301,1303,1307,1319,1321,1327,1361,1367,1373,1381,1399,1409,1423,1427,1429,1433,1439,1447,1451,1453,1459,1471,1481,1483,1487,1489,1493,1499,1511,
1523,1531,1543,1549,1553,1559,1567,1571,1579,1583,1597,1601,1607,1609,1613,1619,1621,1627,1637,1657,1663,1667,1669,1693,1697,1699,1709,1721,1723,1733,1741,1747,1753,1759,1777,1783,1787,1789,1801,1811,
1823,1831,1847,1861,1867,1871,1873,1877,1879,1889,1901,1907,1913,1931,1933,1949,1951,1973,1979,1987,1993,1997,1999,2003,2011,2017,2027,2029,2039,2053,2063,2069,2081,2083,2087,2089,2099,2111,2113,2129,
2131,2137,2141,2143,2153,2161,2179,2203,2207,2213,2221,2237,2239,2243,2251,2267,2269,2273,2281,2287,2293,2297,2309,2311,2333,2339,2341,2347,2351,2357,2371,2377,2381,2383,2389,2393,2399,2411,2417,2423,
2437,2441,2447,2459,2467,2473,2477,2503,2521,2531,2539,2543,2549,2551,2557,2579,2591,2593,2609,2617,2621,2633,2647,2657,2659,2663,2671,2677,2683,2687,2689,2693,2699,2707,2711,2713,2719,2729,2731,2741,
2749,2753,2767,2777,2789,2791,2797,2801,2803,2819,2833,2837,2843,2851,2857,2861,2879,2887,2897,2903,2909,2917,2927,2939,2953,2957,2963,2969,2971,2999,3001,3011,3019,3023,3037,3041,3049,3061,3067,3079,
3083,3089,3109,3119,3121,3137,3163,3167,3169,3181,3187,3191,3203,3209,3217,3221,3229,3251,3253,3257,3259,3271,3299,3301,3307,3313,3319,3323,3329,3331,3343,3347,3359,3361,3371,3373,3389,3391,3407,3413,
3433,3449,3457,3461,3463,3467,3469,3491,3499,3511,3517,3527,3529,3533,3539,3541,3547,3557,3559,3571,3581,3583,3593,3607,3613,3617,3623,3631,3637,3643,3659,3671,3673,3677,3691,3697,3701,3709,3719,3727,
3733,3739,3761,3767,3769,3779,3793,3797,3803,3821,3823,3833,3847,3851,3853,3863,3877,3881,3889,3907,3911,3917,3919,3923,3929,3931,3943,3947,3967,3989,4001,4003,4007,4013,4019,4021,4027,4049,4051,4057,
4073,4079,4091,4093,4099,4111,4127,4129,4133,4139,4153,4157,4159,4177,4201,4211,4217,4219,4229,4231,4241,4243,4253,4259,4261,4271,4273,4283,4289,4297,4327,4337,4339,4349,4357,4363,4373,4391,4397,4409,
4421,4423,4441,4447,4451,4457,4463,4481,4483,4493,4507,4513,4517,4519,4523,4547,4549,4561,4567,4583,4591,4597,4603,4621,4637,4639,4643,4649,4651,4657,4663,4673,4679,4691,4703,4721,4723,4729,4733,4751,
4759,4783,4787,4789,4793,4799,4801,4813,4817,4831,4861,4871,4877,4889,4903,4909,4919,4931,4933,4937,4943,4951,4957,4967,4969,4973,4987,4993,4999].map(t=>BigInt(t));var nl=p.getWebCrypto(),Hs=p.getNodeCrypto(),Up=Hs&&Hs.getHashes();function Qt(t){if(!(!Hs||!Up.includes(t)))return async function(e){let r=Hs.createHash(t);return me(e,n=>{r.update(n)},()=>new Uint8Array(
r.digest()))}}function Ht(t,e){let r=async()=>{let{nobleHashes:n}=await Promise.resolve().then(()=>(Rc(),Mc)),s=n.get(t);if(!s)throw new Error("Unsupported hash");return s};return async function(n){if(ie(
n)&&(n=await ge(n)),p.isStream(n)){let i=(await r()).create();return me(n,a=>{i.update(a)},()=>i.digest())}else return nl&&e?new Uint8Array(await nl.digest(e,n)):(await r())(n)}}var Lp=Qt("md5")||Ht("\
md5"),Mp=Qt("sha1")||Ht("sha1","SHA-1"),Rp=Qt("sha224")||Ht("sha224"),_p=Qt("sha256")||Ht("sha256","SHA-256"),Fp=Qt("sha384")||Ht("sha384","SHA-384"),Np=Qt("sha512")||Ht("sha512","SHA-512"),Op=Qt("rip\
emd160")||Ht("ripemd160"),Qp=Qt("sha3-256")||Ht("sha3_256"),Hp=Qt("sha3-512")||Ht("sha3_512");function Dr(t,e){switch(t){case l.hash.md5:return Lp(e);case l.hash.sha1:return Mp(e);case l.hash.ripemd:return Op(
e);case l.hash.sha256:return _p(e);case l.hash.sha384:return Fp(e);case l.hash.sha512:return Np(e);case l.hash.sha224:return Rp(e);case l.hash.sha3_256:return Qp(e);case l.hash.sha3_512:return Hp(e);default:
throw new Error("Unsupported hash function")}}function ke(t){switch(t){case l.hash.md5:return 16;case l.hash.sha1:case l.hash.ripemd:return 20;case l.hash.sha256:return 32;case l.hash.sha384:return 48;case l.
hash.sha512:return 64;case l.hash.sha224:return 28;case l.hash.sha3_256:return 32;case l.hash.sha3_512:return 64;default:throw new Error("Invalid hash algorithm.")}}var rt=[];rt[1]=[48,32,48,12,6,8,42,
134,72,134,247,13,2,5,5,0,4,16];rt[2]=[48,33,48,9,6,5,43,14,3,2,26,5,0,4,20];rt[3]=[48,33,48,9,6,5,43,36,3,2,1,5,0,4,20];rt[8]=[48,49,48,13,6,9,96,134,72,1,101,3,4,2,1,5,0,4,32];rt[9]=[48,65,48,13,6,9,
96,134,72,1,101,3,4,2,2,5,0,4,48];rt[10]=[48,81,48,13,6,9,96,134,72,1,101,3,4,2,3,5,0,4,64];rt[11]=[48,45,48,13,6,9,96,134,72,1,101,3,4,2,4,5,0,4,28];rt[12]=[48,49,48,13,6,9,96,134,72,1,101,3,4,2,8,5,
0,4,32];rt[14]=[48,81,48,13,6,9,96,134,72,1,101,3,4,2,10,5,0,4,64];function zp(t){let e=new Uint8Array(t),r=0;for(;r<t;){let n=st(t-r);for(let s=0;s<n.length;s++)n[s]!==0&&(e[r++]=n[s])}return e}function Ql(t,e){
let r=t.length;if(r>e-11)throw new Error("Message too long");let n=zp(e-r-3),s=new Uint8Array(e);return s[1]=2,s.set(n,2),s.set(t,e-r),s}function Hl(t,e){let r=2,n=1;for(let o=r;o<t.length;o++)n&=t[o]!==
0,r+=n;let s=r-2,i=t.subarray(r+1),a=t[0]===0&t[1]===2&s>=8&!n;if(e)return p.selectUint8Array(a,i,e);if(a)return i;throw new Error("Decryption error")}function zl(t,e,r){let n;if(e.length!==ke(t))throw new Error(
"Invalid hash length");let s=new Uint8Array(rt[t].length);for(n=0;n<rt[t].length;n++)s[n]=rt[t][n];let i=s.length+e.length;if(r<i+11)throw new Error("Intended encoded message length too short");let a=new Uint8Array(
r-i-3).fill(255),o=new Uint8Array(r);return o[1]=1,o.set(a,2),o.set(s,r-i),o.set(e,r-e.length),o}var zs=p.getWebCrypto(),fn=p.getNodeCrypto(),js=BigInt(1);async function jp(t,e,r,n,s,i,a,o,c){if(ke(t)>=
r.length)throw new Error("Digest size cannot exceed key modulus size");if(e&&!p.isStream(e)){if(p.getWebCrypto())try{return await qp(l.read(l.webHash,t),e,r,n,s,i,a,o)}catch(u){p.printDebugError(u)}else if(p.
getNodeCrypto())return Jp(t,e,r,n,s,i,a,o)}return Yp(t,r,s,c)}async function Gp(t,e,r,n,s,i){if(e&&!p.isStream(e)){if(p.getWebCrypto())try{return await Xp(l.read(l.webHash,t),e,r,n,s)}catch(a){p.printDebugError(
a)}else if(p.getNodeCrypto())return Zp(t,e,r,n,s)}return $p(t,r,n,s,i)}async function Wp(t,e,r){return p.getNodeCrypto()?ed(t,e,r):td(t,e,r)}async function Vp(t,e,r,n,s,i,a,o){if(p.getNodeCrypto()&&!o)
try{return rd(t,e,r,n,s,i,a)}catch(c){p.printDebugError(c)}return nd(t,e,r,n,s,i,a,o)}function Yp(t,e,r,n){e=H(e);let s=H(zl(t,n,je(e)));return r=H(r),Xe(tt(s,r,e),"be",je(e))}async function qp(t,e,r,n,s,i,a,o){let c=to(r,n,s,i,a,o),u={name:"RSASSA-PKCS1-v1_5",hash:{name:t}},h=await zs.
importKey("jwk",c,u,!1,["sign"]);return new Uint8Array(await zs.sign("RSASSA-PKCS1-v1_5",h,e))}function Jp(t,e,r,n,s,i,a,o){let c=fn.createSign(l.read(l.hash,t));c.write(e),c.end();let u=to(r,n,s,i,a,
o);return new Uint8Array(c.sign({key:u,format:"jwk",type:"pkcs1"}))}function $p(t,e,r,n,s){if(r=H(r),e=H(e),n=H(n),e>=r)throw new Error("Signature size cannot exceed modulus size");let i=Xe(tt(e,n,r),
"be",je(r)),a=zl(t,s,je(r));return p.equalsUint8Array(i,a)}async function Xp(t,e,r,n,s){let i=ro(n,s),a=await zs.importKey("jwk",i,{name:"RSASSA-PKCS1-v1_5",hash:{name:t}},!1,["verify"]);return zs.verify(
"RSASSA-PKCS1-v1_5",a,r,e)}function Zp(t,e,r,n,s){let a={key:ro(n,s),format:"jwk",type:"pkcs1"},o=fn.createVerify(l.read(l.hash,t));o.write(e),o.end();try{return o.verify(a,r)}catch{return!1}}function ed(t,e,r){
let s={key:ro(e,r),format:"jwk",type:"pkcs1",padding:fn.constants.RSA_PKCS1_PADDING};return new Uint8Array(fn.publicEncrypt(s,t))}function td(t,e,r){if(e=H(e),t=H(Ql(t,je(e))),r=H(r),t>=e)throw new Error(
"Message size cannot exceed modulus size");return Xe(tt(t,r,e),"be",je(e))}function rd(t,e,r,n,s,i,a){let c={key:to(e,r,n,s,i,a),format:"jwk",type:"pkcs1",padding:fn.constants.RSA_PKCS1_PADDING};try{return new Uint8Array(
fn.privateDecrypt(c,t))}catch{throw new Error("Decryption error")}}function nd(t,e,r,n,s,i,a,o){if(t=H(t),e=H(e),r=H(r),n=H(n),s=H(s),i=H(i),a=H(a),t>=e)throw new Error("Data too large.");let c=ee(n,i-
js),u=ee(n,s-js),h=eo(BigInt(2),e),f=tt(pi(h,e),r,e);t=ee(t*f,e);let d=tt(t,u,s),g=tt(t,c,i),b=ee(a*(g-d),i)*s+d;return b=ee(b*h,e),Hl(Xe(b,"be",je(e)),o)}function to(t,e,r,n,s,i){let a=H(n),o=H(s),c=H(
r),u=ee(c,o-js),h=ee(c,a-js);return h=Xe(h),u=Xe(u),{kty:"RSA",n:Pe(t),e:Pe(e),d:Pe(r),p:Pe(s),q:Pe(n),dp:Pe(u),dq:Pe(h),qi:Pe(i),ext:!0}}function ro(t,e){return{kty:"RSA",n:Pe(t),e:Pe(e),ext:!0}}var sl=BigInt(1);async function sd(t,e,r,n){e=H(e),r=H(r),n=H(n);let s=Ql(t,je(e)),i=H(s),a=eo(sl,e-sl);return{c1:Xe(tt(r,a,e)),c2:Xe(ee(tt(n,a,e)*i,e))}}async function id(t,e,r,n,s){t=H(t),e=H(e),r=H(
r),n=H(n);let i=ee(pi(tt(t,n,r),r)*e,r);return Hl(Xe(i,"be",je(r)),s)}var ad={"2a8648ce3d030107":l.curve.nistP256,"2b81040022":l.curve.nistP384,"2b81040023":l.curve.nistP521,"2b8104000a":l.curve.secp256k1,"2b06010401da470f01":l.curve.ed25519Legacy,"2b060104019755010501":l.
curve.curve25519Legacy,"2b2403030208010107":l.curve.brainpoolP256r1,"2b240303020801010b":l.curve.brainpoolP384r1,"2b240303020801010d":l.curve.brainpoolP512r1},an=class t{constructor(e){if(e instanceof
t)this.oid=e.oid;else if(p.isArray(e)||p.isUint8Array(e)){if(e=new Uint8Array(e),e[0]===6){if(e[1]!==e.length-2)throw new Error("Length mismatch in DER encoded oid");e=e.subarray(2)}this.oid=e}else this.
oid=""}read(e){if(e.length>=1){let r=e[0];if(e.length>=1+r)return this.oid=e.subarray(1,1+r),1+this.oid.length}throw new Error("Invalid oid")}write(){return p.concatUint8Array([new Uint8Array([this.oid.
length]),this.oid])}toHex(){return p.uint8ArrayToHex(this.oid)}getName(){let e=ad[this.toHex()];if(!e)throw new Error("Unknown curve object identifier.");return e}};function od(t){let e=0,r,n=t[0];return n<
192?([e]=t,r=1):n<255?(e=(t[0]-192<<8)+t[1]+192,r=2):n===255&&(e=p.readNumber(t.subarray(1,5)),r=5),{len:e,offset:r}}function no(t){return t<192?new Uint8Array([t]):t>191&&t<8384?new Uint8Array([(t-192>>
8)+192,t-192&255]):p.concatUint8Array([new Uint8Array([255]),p.writeNumber(t,4)])}function cd(t){if(t<0||t>30)throw new Error("Partial Length power must be between 1 and 30");return new Uint8Array([224+
t])}function jl(t){return new Uint8Array([192|t])}function il(t,e){return p.concatUint8Array([jl(t),no(e)])}function Ms(t){return[l.packet.literalData,l.packet.compressedData,l.packet.symmetricallyEncryptedData,
l.packet.symEncryptedIntegrityProtectedData,l.packet.aeadEncryptedData].includes(t)}async function ld(t,e,r){let n,s;try{let i=await t.peekBytes(2);if(!i||i.length<2||(i[0]&128)===0)throw new Error("E\
rror during parsing. This message / key probably does not conform to a valid OpenPGP format.");let a=await t.readByte(),o=-1,c=-1,u;c=0,(a&64)!==0&&(c=1);let h;c?o=a&63:(o=(a&63)>>2,h=a&3);let f=Ms(o),
d=null;if(e&&f){if(e==="array"){let w=new Je;n=$e(w),d=w}else{let w=new TransformStream;n=$e(w.writable),d=w.readable}s=r({tag:o,packet:d})}else d=[];let g;do{if(c){let w=await t.readByte();if(g=!1,w<
192)u=w;else if(w>=192&&w<224)u=(w-192<<8)+await t.readByte()+192;else if(w>223&&w<255){if(u=1<<(w&31),g=!0,!f)throw new TypeError("This packet type does not support partial lengths.")}else u=(await t.
readByte()<<24|await t.readByte()<<16|await t.readByte()<<8|await t.readByte())>>>0}else switch(h){case 0:u=await t.readByte();break;case 1:u=await t.readByte()<<8|await t.readByte();break;case 2:u=(await t.
readByte()<<24|await t.readByte()<<16|await t.readByte()<<8|await t.readByte())>>>0;break;default:u=1/0;break}if(u>0){let w=0;for(;;){n&&await n.ready;let{done:b,value:A}=await t.read();if(b){if(u===1/0)
break;throw new Error("Unexpected end of packet")}let k=u===1/0?A:A.subarray(0,u-w);if(n?await n.write(k):d.push(k),w+=A.length,w>=u){t.unshift(A.subarray(u-w+A.length));break}}}}while(g);n?(await n.ready,
await n.close()):(d=p.concatUint8Array(d),await r({tag:o,packet:d}))}catch(i){if(n)return await n.abort(i),!0;throw i}finally{n&&await s}}var J=class t extends Error{constructor(...e){super(...e),Error.
captureStackTrace&&Error.captureStackTrace(this,t),this.name="UnsupportedError"}},on=class extends J{constructor(...e){super(...e),Error.captureStackTrace&&Error.captureStackTrace(this,J),this.name="U\
nknownPacketError"}},Fn=class extends J{constructor(...e){super(...e),Error.captureStackTrace&&Error.captureStackTrace(this,J),this.name="MalformedPacketError"}},On=class{constructor(e,r){this.tag=e,this.
rawContent=r}write(){return this.rawContent}};async function ud(t){switch(t){case l.publicKey.ed25519:try{let e=p.getWebCrypto(),r=await e.generateKey("Ed25519",!0,["sign","verify"]).catch(i=>{if(i.name===
"OperationError"){let a=new Error("Unexpected key generation issue");throw a.name="NotSupportedError",a}throw i}),n=await e.exportKey("jwk",r.privateKey),s=await e.exportKey("jwk",r.publicKey);return{
A:new Uint8Array(Ot(s.x)),seed:Ot(n.d,!0)}}catch(e){if(e.name!=="NotSupportedError")throw e;let{default:r}=await Promise.resolve().then(()=>(kr(),Er)),n=st(so(t)),{publicKey:s}=r.sign.keyPair.fromSeed(
n);return{A:s,seed:n}}case l.publicKey.ed448:{let e=await p.getNobleCurve(l.publicKey.ed448),{secretKey:r,publicKey:n}=e.keygen();return{A:n,seed:r}}default:throw new Error("Unsupported EdDSA algorith\
m")}}async function Gl(t,e,r,n,s,i){if(ke(e)<ke(io(t)))throw new Error("Hash algorithm too weak for EdDSA.");switch(t){case l.publicKey.ed25519:try{let a=p.getWebCrypto(),o=hd(t,n,s),c=await a.importKey(
"jwk",o,"Ed25519",!1,["sign"]);return{RS:new Uint8Array(await a.sign("Ed25519",c,i))}}catch(a){if(a.name!=="NotSupportedError")throw a;let{default:o}=await Promise.resolve().then(()=>(kr(),Er)),c=p.concatUint8Array(
[s,n]);return{RS:o.sign.detached(i,c)}}case l.publicKey.ed448:return{RS:(await p.getNobleCurve(l.publicKey.ed448)).sign(i,s)};default:throw new Error("Unsupported EdDSA algorithm")}}async function Wl(t,e,{
RS:r},n,s,i){if(ke(e)<ke(io(t)))throw new Error("Hash algorithm too weak for EdDSA.");switch(t){case l.publicKey.ed25519:try{let a=p.getWebCrypto(),o=Vl(t,s),c=await a.importKey("jwk",o,"Ed25519",!1,[
"verify"]);return await a.verify("Ed25519",c,r,i)}catch(a){if(a.name!=="NotSupportedError")throw a;let{default:o}=await Promise.resolve().then(()=>(kr(),Er));return o.sign.detached.verify(i,r,s)}case l.
publicKey.ed448:return(await p.getNobleCurve(l.publicKey.ed448)).verify(r,i,s);default:throw new Error("Unsupported EdDSA algorithm")}}function so(t){switch(t){case l.publicKey.ed25519:return 32;case l.publicKey.ed448:return 57;default:throw new Error("Unsupported EdDSA algorithm")}}function io(t){switch(t){case l.publicKey.ed25519:return l.
hash.sha256;case l.publicKey.ed448:return l.hash.sha512;default:throw new Error("Unknown EdDSA algo")}}var Vl=(t,e)=>{if(t===l.publicKey.ed25519)return{kty:"OKP",crv:"Ed25519",x:Pe(e),ext:!0};throw new Error(
"Unsupported EdDSA algorithm")},hd=(t,e,r)=>{if(t===l.publicKey.ed25519){let n=Vl(t,e);return n.d=Pe(r),n}else throw new Error("Unsupported EdDSA algorithm")};function Yl(t){return t instanceof Uint8Array||ArrayBuffer.isView(t)&&t.constructor.name==="Uint8Array"}function ne(t,...e){if(!Yl(t))throw new Error("Uint8Array expected");if(e.length>0&&!e.includes(
t.length))throw new Error("Uint8Array expected of length "+e+", got length="+t.length)}function Gs(t,e=!0){if(t.destroyed)throw new Error("Hash instance has been destroyed");if(e&&t.finished)throw new Error(
"Hash#digest() has already been called")}function ql(t,e){ne(t);let r=e.outputLen;if(t.length<r)throw new Error("digestInto() expects output buffer of length at least "+r)}function ao(t){return new Uint8Array(
t.buffer,t.byteOffset,t.byteLength)}function Z(t){return new Uint32Array(t.buffer,t.byteOffset,Math.floor(t.byteLength/4))}function Re(...t){for(let e=0;e<t.length;e++)t[e].fill(0)}function di(t){return new DataView(
t.buffer,t.byteOffset,t.byteLength)}var fd=new Uint8Array(new Uint32Array([287454020]).buffer)[0]===68;function pd(t){if(typeof t!="string")throw new Error("string expected");return new Uint8Array(new TextEncoder().
encode(t))}function Qn(t){if(typeof t=="string")t=pd(t);else if(Yl(t))t=Ge(t);else throw new Error("Uint8Array expected, got "+typeof t);return t}function Jl(t,e){return t.buffer===e.buffer&&t.byteOffset<
e.byteOffset+e.byteLength&&e.byteOffset<t.byteOffset+t.byteLength}function oo(t,e){if(Jl(t,e)&&t.byteOffset<e.byteOffset)throw new Error("complex overlap of input and output is not supported")}function dd(...t){
let e=0;for(let n=0;n<t.length;n++){let s=t[n];ne(s),e+=s.length}let r=new Uint8Array(e);for(let n=0,s=0;n<t.length;n++){let i=t[n];r.set(i,s),s+=i.length}return r}function $l(t,e){if(t.length!==e.length)
return!1;let r=0;for(let n=0;n<t.length;n++)r|=t[n]^e[n];return r===0}var qn=(t,e)=>{function r(n,...s){if(ne(n),!fd)throw new Error("Non little-endian hardware is not yet supported");if(t.nonceLength!==
void 0){let h=s[0];if(!h)throw new Error("nonce / iv required");t.varSizeNonce?ne(h):ne(h,t.nonceLength)}let i=t.tagLength;i&&s[1]!==void 0&&ne(s[1]);let a=e(n,...s),o=(h,f)=>{if(f!==void 0){if(h!==2)
throw new Error("cipher output not supported");ne(f)}},c=!1;return{encrypt(h,f){if(c)throw new Error("cannot encrypt() twice with same key + nonce");return c=!0,ne(h),o(a.encrypt.length,f),a.encrypt(h,
f)},decrypt(h,f){if(ne(h),i&&h.length<i)throw new Error("invalid ciphertext length: smaller than tagLength="+i);return o(a.decrypt.length,f),a.decrypt(h,f)}}}return Object.assign(r,t),r};function Jn(t,e,r=!0){
if(e===void 0)return new Uint8Array(t);if(e.length!==t)throw new Error("invalid output length, expected "+t+", got: "+e.length);if(r&&!nt(e))throw new Error("invalid output, must be aligned");return e}
function Ka(t,e,r,n){if(typeof t.setBigUint64=="function")return t.setBigUint64(e,r,n);let s=BigInt(32),i=BigInt(4294967295),a=Number(r>>s&i),o=Number(r&i),c=0,u=4;t.setUint32(e+c,a,n),t.setUint32(e+u,
o,n)}function yd(t,e,r){let n=new Uint8Array(16),s=di(n);return Ka(s,0,BigInt(e),r),Ka(s,8,BigInt(t),r),n}function nt(t){return t.byteOffset%4===0}function Ge(t){return Uint8Array.from(t)}var Rt=16,co=new Uint8Array(
16),bt=Z(co),gd=225,wd=(t,e,r,n)=>{let s=n&1;return{s3:r<<31|n>>>1,s2:e<<31|r>>>1,s1:t<<31|e>>>1,s0:t>>>1^gd<<24&-(s&1)}},et=t=>(t>>>0&255)<<24|(t>>>8&255)<<16|(t>>>16&255)<<8|t>>>24&255|0;function md(t){
t.reverse();let e=t[15]&1,r=0;for(let n=0;n<t.length;n++){let s=t[n];t[n]=s>>>1|r,r=(s&1)<<7}return t[0]^=-e&225,t}var Ad=t=>t>64*1024?8:t>1024?4:2,Ws=class{constructor(e,r){this.blockLen=Rt,this.outputLen=
Rt,this.s0=0,this.s1=0,this.s2=0,this.s3=0,this.finished=!1,e=Qn(e),ne(e,16);let n=di(e),s=n.getUint32(0,!1),i=n.getUint32(4,!1),a=n.getUint32(8,!1),o=n.getUint32(12,!1),c=[];for(let w=0;w<128;w++)c.push(
{s0:et(s),s1:et(i),s2:et(a),s3:et(o)}),{s0:s,s1:i,s2:a,s3:o}=wd(s,i,a,o);let u=Ad(r||1024);if(![1,2,4,8].includes(u))throw new Error("ghash: invalid window size, expected 2, 4 or 8");this.W=u;let f=128/
u,d=this.windowSize=2**u,g=[];for(let w=0;w<f;w++)for(let b=0;b<d;b++){let A=0,k=0,E=0,S=0;for(let v=0;v<u;v++){if(!(b>>>u-v-1&1))continue;let{s0:U,s1:M,s2:D,s3:T}=c[u*w+v];A^=U,k^=M,E^=D,S^=T}g.push(
{s0:A,s1:k,s2:E,s3:S})}this.t=g}_updateBlock(e,r,n,s){e^=this.s0,r^=this.s1,n^=this.s2,s^=this.s3;let{W:i,t:a,windowSize:o}=this,c=0,u=0,h=0,f=0,d=(1<<i)-1,g=0;for(let w of[e,r,n,s])for(let b=0;b<4;b++){
let A=w>>>8*b&255;for(let k=8/i-1;k>=0;k--){let E=A>>>i*k&d,{s0:S,s1:v,s2:K,s3:U}=a[g*o+E];c^=S,u^=v,h^=K,f^=U,g+=1}}this.s0=c,this.s1=u,this.s2=h,this.s3=f}update(e){Gs(this),e=Qn(e),ne(e);let r=Z(e),
n=Math.floor(e.length/Rt),s=e.length%Rt;for(let i=0;i<n;i++)this._updateBlock(r[i*4+0],r[i*4+1],r[i*4+2],r[i*4+3]);return s&&(co.set(e.subarray(n*Rt)),this._updateBlock(bt[0],bt[1],bt[2],bt[3]),Re(bt)),
this}destroy(){let{t:e}=this;for(let r of e)r.s0=0,r.s1=0,r.s2=0,r.s3=0}digestInto(e){Gs(this),ql(e,this),this.finished=!0;let{s0:r,s1:n,s2:s,s3:i}=this,a=Z(e);return a[0]=r,a[1]=n,a[2]=s,a[3]=i,e}digest(){
let e=new Uint8Array(Rt);return this.digestInto(e),this.destroy(),e}},Pa=class extends Ws{constructor(e,r){e=Qn(e),ne(e);let n=md(Ge(e));super(n,r),Re(n)}update(e){e=Qn(e),Gs(this);let r=Z(e),n=e.length%
Rt,s=Math.floor(e.length/Rt);for(let i=0;i<s;i++)this._updateBlock(et(r[i*4+3]),et(r[i*4+2]),et(r[i*4+1]),et(r[i*4+0]));return n&&(co.set(e.subarray(s*Rt)),this._updateBlock(et(bt[3]),et(bt[2]),et(bt[1]),
et(bt[0])),Re(bt)),this}digestInto(e){Gs(this),ql(e,this),this.finished=!0;let{s0:r,s1:n,s2:s,s3:i}=this,a=Z(e);return a[0]=r,a[1]=n,a[2]=s,a[3]=i,e.reverse()}};function Xl(t){let e=(n,s)=>t(s,n.length).
update(Qn(n)).digest(),r=t(new Uint8Array(16),0);return e.outputLen=r.outputLen,e.blockLen=r.blockLen,e.create=(n,s)=>t(n,s),e}var al=Xl((t,e)=>new Ws(t,e));Xl((t,e)=>new Pa(t,e));var We=16,lo=4,Bs=new Uint8Array(
We),bd=283;function uo(t){return t<<1^bd&-(t>>7)}function sn(t,e){let r=0;for(;e>0;e>>=1)r^=t&-(e&1),t=uo(t);return r}var Ta=(()=>{let t=new Uint8Array(256);for(let r=0,n=1;r<256;r++,n^=uo(n))t[r]=n;let e=new Uint8Array(
256);e[0]=99;for(let r=0;r<255;r++){let n=t[255-r];n|=n<<8,e[t[r]]=(n^n>>4^n>>5^n>>6^n>>7^99)&255}return Re(t),e})(),Ed=Ta.map((t,e)=>Ta.indexOf(e)),kd=t=>t<<24|t>>>8,ya=t=>t<<8|t>>>24,ol=t=>t<<24&4278190080|
t<<8&16711680|t>>>8&65280|t>>>24&255;function Zl(t,e){if(t.length!==256)throw new Error("Wrong sbox length");let r=new Uint32Array(256).map((u,h)=>e(t[h])),n=r.map(ya),s=n.map(ya),i=s.map(ya),a=new Uint32Array(
256*256),o=new Uint32Array(256*256),c=new Uint16Array(256*256);for(let u=0;u<256;u++)for(let h=0;h<256;h++){let f=u*256+h;a[f]=r[u]^n[h],o[f]=s[u]^i[h],c[f]=t[u]<<8|t[h]}return{sbox:t,sbox2:c,T0:r,T1:n,
T2:s,T3:i,T01:a,T23:o}}var ho=Zl(Ta,t=>sn(t,3)<<24|t<<16|t<<8|sn(t,2)),eu=Zl(Ed,t=>sn(t,11)<<24|sn(t,13)<<16|sn(t,9)<<8|sn(t,14)),xd=(()=>{let t=new Uint8Array(16);for(let e=0,r=1;e<16;e++,r=uo(r))t[e]=
r;return t})();function Mr(t){ne(t);let e=t.length;if(![16,24,32].includes(e))throw new Error("aes: invalid key size, should be 16, 24 or 32, got "+e);let{sbox2:r}=ho,n=[];nt(t)||n.push(t=Ge(t));let s=Z(
t),i=s.length,a=c=>Et(r,c,c,c,c),o=new Uint32Array(e+28);o.set(s);for(let c=i;c<o.length;c++){let u=o[c-1];c%i===0?u=a(kd(u))^xd[c/i-1]:i>6&&c%i===4&&(u=a(u)),o[c]=o[c-i]^u}return Re(...n),o}function fo(t){
let e=Mr(t),r=e.slice(),n=e.length,{sbox2:s}=ho,{T0:i,T1:a,T2:o,T3:c}=eu;for(let u=0;u<n;u+=4)for(let h=0;h<4;h++)r[u+h]=e[n-u-4+h];Re(e);for(let u=4;u<n-4;u++){let h=r[u],f=Et(s,h,h,h,h);r[u]=i[f&255]^
a[f>>>8&255]^o[f>>>16&255]^c[f>>>24]}return r}function ar(t,e,r,n,s,i){return t[r<<8&65280|n>>>8&255]^e[s>>>8&65280|i>>>24&255]}function Et(t,e,r,n,s){return t[e&255|r&65280]|t[n>>>16&255|s>>>16&65280]<<
16}function ht(t,e,r,n,s){let{sbox2:i,T01:a,T23:o}=ho,c=0;e^=t[c++],r^=t[c++],n^=t[c++],s^=t[c++];let u=t.length/4-2;for(let w=0;w<u;w++){let b=t[c++]^ar(a,o,e,r,n,s),A=t[c++]^ar(a,o,r,n,s,e),k=t[c++]^
ar(a,o,n,s,e,r),E=t[c++]^ar(a,o,s,e,r,n);e=b,r=A,n=k,s=E}let h=t[c++]^Et(i,e,r,n,s),f=t[c++]^Et(i,r,n,s,e),d=t[c++]^Et(i,n,s,e,r),g=t[c++]^Et(i,s,e,r,n);return{s0:h,s1:f,s2:d,s3:g}}function yi(t,e,r,n,s){
let{sbox2:i,T01:a,T23:o}=eu,c=0;e^=t[c++],r^=t[c++],n^=t[c++],s^=t[c++];let u=t.length/4-2;for(let w=0;w<u;w++){let b=t[c++]^ar(a,o,e,s,n,r),A=t[c++]^ar(a,o,r,e,s,n),k=t[c++]^ar(a,o,n,r,e,s),E=t[c++]^
ar(a,o,s,n,r,e);e=b,r=A,n=k,s=E}let h=t[c++]^Et(i,e,s,n,r),f=t[c++]^Et(i,r,e,s,n),d=t[c++]^Et(i,n,r,e,s),g=t[c++]^Et(i,s,n,r,e);return{s0:h,s1:f,s2:d,s3:g}}function tu(t,e,r,n){ne(e,We),ne(r);let s=r.
length;n=Jn(s,n),oo(r,n);let i=e,a=Z(i),{s0:o,s1:c,s2:u,s3:h}=ht(t,a[0],a[1],a[2],a[3]),f=Z(r),d=Z(n);for(let w=0;w+4<=f.length;w+=4){d[w+0]=f[w+0]^o,d[w+1]=f[w+1]^c,d[w+2]=f[w+2]^u,d[w+3]=f[w+3]^h;let b=1;
for(let A=i.length-1;A>=0;A--)b=b+(i[A]&255)|0,i[A]=b&255,b>>>=8;({s0:o,s1:c,s2:u,s3:h}=ht(t,a[0],a[1],a[2],a[3]))}let g=We*Math.floor(f.length/lo);if(g<s){let w=new Uint32Array([o,c,u,h]),b=ao(w);for(let A=g,
k=0;A<s;A++,k++)n[A]=r[A]^b[k];Re(w)}return n}function Rn(t,e,r,n,s){ne(r,We),ne(n),s=Jn(n.length,s);let i=r,a=Z(i),o=di(i),c=Z(n),u=Z(s),h=e?0:12,f=n.length,d=o.getUint32(h,e),{s0:g,s1:w,s2:b,s3:A}=ht(
t,a[0],a[1],a[2],a[3]);for(let E=0;E+4<=c.length;E+=4)u[E+0]=c[E+0]^g,u[E+1]=c[E+1]^w,u[E+2]=c[E+2]^b,u[E+3]=c[E+3]^A,d=d+1>>>0,o.setUint32(h,d,e),{s0:g,s1:w,s2:b,s3:A}=ht(t,a[0],a[1],a[2],a[3]);let k=We*
Math.floor(c.length/lo);if(k<f){let E=new Uint32Array([g,w,b,A]),S=ao(E);for(let v=k,K=0;v<f;v++,K++)s[v]=n[v]^S[K];Re(E)}return s}var Sd=qn({blockSize:16,nonceLength:16},function(e,r){function n(s,i){
if(ne(s),i!==void 0&&(ne(i),!nt(i)))throw new Error("unaligned destination");let a=Mr(e),o=Ge(r),c=[a,o];nt(s)||c.push(s=Ge(s));let u=tu(a,o,s,i);return Re(...c),u}return{encrypt:(s,i)=>n(s,i),decrypt:(s,i)=>n(
s,i)}});function vd(t){if(ne(t),t.length%We!==0)throw new Error("aes-(cbc/ecb).decrypt ciphertext should consist of blocks with size "+We)}function Cd(t,e,r){ne(t);let n=t.length,s=n%We;if(!e&&s!==0)throw new Error(
"aec/(cbc-ecb): unpadded plaintext with disabled padding");nt(t)||(t=Ge(t));let i=Z(t);if(e){let o=We-s;o||(o=We),n=n+o}r=Jn(n,r),oo(t,r);let a=Z(r);return{b:i,o:a,out:r}}function Id(t,e){if(!e)return t;
let r=t.length;if(!r)throw new Error("aes/pcks5: empty ciphertext not allowed");let n=t[r-1];if(n<=0||n>16)throw new Error("aes/pcks5: wrong padding");let s=t.subarray(0,-n);for(let i=0;i<n;i++)if(t[r-
i-1]!==n)throw new Error("aes/pcks5: wrong padding");return s}function Bd(t){let e=new Uint8Array(16),r=Z(e);e.set(t);let n=We-t.length;for(let s=We-n;s<We;s++)e[s]=n;return r}var Ua=qn({blockSize:16,
nonceLength:16},function(e,r,n={}){let s=!n.disablePadding;return{encrypt(i,a){let o=Mr(e),{b:c,o:u,out:h}=Cd(i,s,a),f=r,d=[o];nt(f)||d.push(f=Ge(f));let g=Z(f),w=g[0],b=g[1],A=g[2],k=g[3],E=0;for(;E+
4<=c.length;)w^=c[E+0],b^=c[E+1],A^=c[E+2],k^=c[E+3],{s0:w,s1:b,s2:A,s3:k}=ht(o,w,b,A,k),u[E++]=w,u[E++]=b,u[E++]=A,u[E++]=k;if(s){let S=Bd(i.subarray(E*4));w^=S[0],b^=S[1],A^=S[2],k^=S[3],{s0:w,s1:b,
s2:A,s3:k}=ht(o,w,b,A,k),u[E++]=w,u[E++]=b,u[E++]=A,u[E++]=k}return Re(...d),h},decrypt(i,a){vd(i);let o=fo(e),c=r,u=[o];nt(c)||u.push(c=Ge(c));let h=Z(c);a=Jn(i.length,a),nt(i)||u.push(i=Ge(i)),oo(i,
a);let f=Z(i),d=Z(a),g=h[0],w=h[1],b=h[2],A=h[3];for(let k=0;k+4<=f.length;){let E=g,S=w,v=b,K=A;g=f[k+0],w=f[k+1],b=f[k+2],A=f[k+3];let{s0:U,s1:M,s2:D,s3:T}=yi(o,g,w,b,A);d[k++]=U^E,d[k++]=M^S,d[k++]=
D^v,d[k++]=T^K}return Re(...u),Id(a,s)}}}),ru=qn({blockSize:16,nonceLength:16},function(e,r){function n(s,i,a){ne(s);let o=s.length;if(a=Jn(o,a),Jl(s,a))throw new Error("overlapping src and dst not su\
pported.");let c=Mr(e),u=r,h=[c];nt(u)||h.push(u=Ge(u)),nt(s)||h.push(s=Ge(s));let f=Z(s),d=Z(a),g=i?d:f,w=Z(u),b=w[0],A=w[1],k=w[2],E=w[3];for(let v=0;v+4<=f.length;){let{s0:K,s1:U,s2:M,s3:D}=ht(c,b,
A,k,E);d[v+0]=f[v+0]^K,d[v+1]=f[v+1]^U,d[v+2]=f[v+2]^M,d[v+3]=f[v+3]^D,b=g[v++],A=g[v++],k=g[v++],E=g[v++]}let S=We*Math.floor(f.length/lo);if(S<o){({s0:b,s1:A,s2:k,s3:E}=ht(c,b,A,k,E));let v=ao(new Uint32Array(
[b,A,k,E]));for(let K=S,U=0;K<o;K++,U++)a[K]=s[K]^v[U];Re(v)}return Re(...h),a}return{encrypt:(s,i)=>n(s,!0,i),decrypt:(s,i)=>n(s,!1,i)}});function Dd(t,e,r,n,s){let i=s?s.length:0,a=t.create(r,n.length+
i);s&&a.update(s);let o=yd(8*n.length,8*i,e);a.update(n),a.update(o);let c=a.digest();return Re(o),c}var Ds=qn({blockSize:16,nonceLength:12,tagLength:16,varSizeNonce:!0},function(e,r,n){if(r.length<8)
throw new Error("aes/gcm: invalid nonce length");let s=16;function i(o,c,u){let h=Dd(al,!1,o,u,n);for(let f=0;f<c.length;f++)h[f]^=c[f];return h}function a(){let o=Mr(e),c=Bs.slice(),u=Bs.slice();if(Rn(
o,!1,u,u,c),r.length===12)u.set(r);else{let f=Bs.slice(),d=di(f);Ka(d,8,BigInt(r.length*8),!1);let g=al.create(c).update(r).update(f);g.digestInto(u),g.destroy()}let h=Rn(o,!1,u,Bs);return{xk:o,authKey:c,
counter:u,tagMask:h}}return{encrypt(o){let{xk:c,authKey:u,counter:h,tagMask:f}=a(),d=new Uint8Array(o.length+s),g=[c,u,h,f];nt(o)||g.push(o=Ge(o)),Rn(c,!1,h,o,d.subarray(0,o.length));let w=i(u,f,d.subarray(
0,d.length-s));return g.push(w),d.set(w,o.length),Re(...g),d},decrypt(o){let{xk:c,authKey:u,counter:h,tagMask:f}=a(),d=[c,u,f,h];nt(o)||d.push(o=Ge(o));let g=o.subarray(0,-s),w=o.subarray(-s),b=i(u,f,
g);if(d.push(b),!$l(b,w))throw new Error("aes/gcm: invalid ghash tag");let A=Rn(c,!1,h,g);return Re(...d),A}}});function nu(t){return t instanceof Uint32Array||ArrayBuffer.isView(t)&&t.constructor.name===
"Uint32Array"}function su(t,e){if(ne(e,16),!nu(t))throw new Error("_encryptBlock accepts result of expandKeyLE");let r=Z(e),{s0:n,s1:s,s2:i,s3:a}=ht(t,r[0],r[1],r[2],r[3]);return r[0]=n,r[1]=s,r[2]=i,
r[3]=a,e}function iu(t,e){if(ne(e,16),!nu(t))throw new Error("_decryptBlock accepts result of expandKeyLE");let r=Z(e),{s0:n,s1:s,s2:i,s3:a}=yi(t,r[0],r[1],r[2],r[3]);return r[0]=n,r[1]=s,r[2]=i,r[3]=
a,e}var cl={encrypt(t,e){if(e.length>=2**32)throw new Error("plaintext should be less than 4gb");let r=Mr(t);if(e.length===16)su(r,e);else{let n=Z(e),s=n[0],i=n[1];for(let a=0,o=1;a<6;a++)for(let c=2;c<
n.length;c+=2,o++){let{s0:u,s1:h,s2:f,s3:d}=ht(r,s,i,n[c],n[c+1]);s=u,i=h^ol(o),n[c]=f,n[c+1]=d}n[0]=s,n[1]=i}r.fill(0)},decrypt(t,e){if(e.length-8>=2**32)throw new Error("ciphertext should be less th\
an 4gb");let r=fo(t),n=e.length/8-1;if(n===1)iu(r,e);else{let s=Z(e),i=s[0],a=s[1];for(let o=0,c=n*6;o<6;o++)for(let u=n*2;u>=1;u-=2,c--){a^=ol(c);let{s0:h,s1:f,s2:d,s3:g}=yi(r,i,a,s[u],s[u+1]);i=h,a=
f,s[u]=d,s[u+1]=g}s[0]=i,s[1]=a}r.fill(0)}},ll=new Uint8Array(8).fill(166),au=qn({blockSize:8},t=>({encrypt(e){if(!e.length||e.length%8!==0)throw new Error("invalid plaintext length");if(e.length===8)
throw new Error("8-byte keys not allowed in AESKW, use AESKWP instead");let r=dd(ll,e);return cl.encrypt(t,r),r},decrypt(e){if(e.length%8!==0||e.length<24)throw new Error("invalid ciphertext length");
let r=Ge(e);if(cl.decrypt(t,r),!$l(r.subarray(0,8),ll))throw new Error("integrity check failed");return r.subarray(0,8).fill(0),r.subarray(8)}})),ul={expandKeyLE:Mr,expandKeyDecLE:fo,encrypt:ht,decrypt:yi,
encryptBlock:su,decryptBlock:iu,ctrCounter:tu,ctr32:Rn};async function ou(t){switch(t){case l.symmetric.aes128:case l.symmetric.aes192:case l.symmetric.aes256:throw new Error("Not a legacy cipher");case l.
symmetric.cast5:case l.symmetric.blowfish:case l.symmetric.twofish:case l.symmetric.tripledes:{let{legacyCiphers:e}=await Promise.resolve().then(()=>(Oc(),Nc)),r=l.read(l.symmetric,t),n=e.get(r);if(!n)
throw new Error("Unsupported cipher algorithm");return n}default:throw new Error("Unsupported cipher algorithm")}}function Kd(t){switch(t){case l.symmetric.aes128:case l.symmetric.aes192:case l.symmetric.
aes256:case l.symmetric.twofish:return 16;case l.symmetric.blowfish:case l.symmetric.cast5:case l.symmetric.tripledes:return 8;default:throw new Error("Unsupported cipher")}}function Pd(t){switch(t){case l.
symmetric.aes128:case l.symmetric.blowfish:case l.symmetric.cast5:return 16;case l.symmetric.aes192:case l.symmetric.tripledes:return 24;case l.symmetric.aes256:case l.symmetric.twofish:return 32;default:
throw new Error("Unsupported cipher")}}function se(t){return{keySize:Pd(t),blockSize:Kd(t)}}var cn=p.getWebCrypto();async function La(t,e,r){let{keySize:n}=se(t);if(!p.isAES(t)||e.length!==n)throw new Error(
"Unexpected algorithm or key size");try{let s=await cn.importKey("raw",e,{name:"AES-KW"},!1,["wrapKey"]),i=await cn.importKey("raw",r,{name:"HMAC",hash:"SHA-256"},!0,["sign"]),a=await cn.wrapKey("raw",
i,s,{name:"AES-KW"});return new Uint8Array(a)}catch(s){if(s.name!=="NotSupportedError"&&!(e.length===24&&s.name==="OperationError"))throw s;p.printDebugError("Browser did not support operation: "+s.message)}
return au(e).encrypt(r)}async function Ma(t,e,r){let{keySize:n}=se(t);if(!p.isAES(t)||e.length!==n)throw new Error("Unexpected algorithm or key size");let s;try{s=await cn.importKey("raw",e,{name:"AES\
-KW"},!1,["unwrapKey"])}catch(i){if(i.name!=="NotSupportedError"&&!(e.length===24&&i.name==="OperationError"))throw i;return p.printDebugError("Browser did not support operation: "+i.message),au(e).decrypt(
r)}try{let i=await cn.unwrapKey("raw",r,s,{name:"AES-KW"},{name:"HMAC",hash:"SHA-256"},!0,["sign"]);return new Uint8Array(await cn.exportKey("raw",i))}catch(i){throw i.name==="OperationError"?new Error(
"Key Data Integrity failed"):i}}async function Kr(t,e,r,n,s){let i=p.getWebCrypto(),a=l.read(l.webHash,t);if(!a)throw new Error("Hash algo not supported with HKDF");let o=await i.importKey("raw",e,"HK\
DF",!1,["deriveBits"]),c=await i.deriveBits({name:"HKDF",hash:a,salt:r,info:n},o,s*8);return new Uint8Array(c)}var Vs={x25519:p.encodeUTF8("OpenPGP X25519"),x448:p.encodeUTF8("OpenPGP X448")};async function Td(t){
switch(t){case l.publicKey.x25519:try{let e=p.getWebCrypto(),r=await e.generateKey("X25519",!0,["deriveKey","deriveBits"]).catch(i=>{if(i.name==="OperationError"){let a=new Error("Unexpected key gener\
ation issue");throw a.name="NotSupportedError",a}throw i}),n=await e.exportKey("jwk",r.privateKey),s=await e.exportKey("jwk",r.publicKey);if(n.x!==s.x){let i=new Error("Unexpected mismatching public p\
oint");throw i.name="NotSupportedError",i}return{A:new Uint8Array(Ot(s.x)),k:Ot(n.d)}}catch(e){if(e.name!=="NotSupportedError")throw e;let{default:r}=await Promise.resolve().then(()=>(kr(),Er)),{secretKey:n,
publicKey:s}=r.box.keyPair();return{A:s,k:n}}case l.publicKey.x448:{let e=await p.getNobleCurve(l.publicKey.x448),{secretKey:r,publicKey:n}=e.keygen();return{A:n,k:r}}default:throw new Error("Unsuppor\
ted ECDH algorithm")}}async function Ud(t,e,r){let{ephemeralPublicKey:n,sharedSecret:s}=await cu(t,r),i=p.concatUint8Array([n,r,s]);switch(t){case l.publicKey.x25519:{let a=l.symmetric.aes128,{keySize:o}=se(a),c=await Kr(l.
hash.sha256,i,new Uint8Array,Vs.x25519,o),u=await La(a,c,e);return{ephemeralPublicKey:n,wrappedKey:u}}case l.publicKey.x448:{let a=l.symmetric.aes256,{keySize:o}=se(l.symmetric.aes256),c=await Kr(l.hash.
sha512,i,new Uint8Array,Vs.x448,o),u=await La(a,c,e);return{ephemeralPublicKey:n,wrappedKey:u}}default:throw new Error("Unsupported ECDH algorithm")}}async function Ld(t,e,r,n,s){let i=await lu(t,e,n,
s),a=p.concatUint8Array([e,n,i]);switch(t){case l.publicKey.x25519:{let o=l.symmetric.aes128,{keySize:c}=se(o),u=await Kr(l.hash.sha256,a,new Uint8Array,Vs.x25519,c);return Ma(o,u,r)}case l.publicKey.
x448:{let o=l.symmetric.aes256,{keySize:c}=se(l.symmetric.aes256),u=await Kr(l.hash.sha512,a,new Uint8Array,Vs.x448,c);return Ma(o,u,r)}default:throw new Error("Unsupported ECDH algorithm")}}function po(t){
switch(t){case l.publicKey.x25519:return 32;case l.publicKey.x448:return 56;default:throw new Error("Unsupported ECDH algorithm")}}async function cu(t,e){switch(t){case l.publicKey.x25519:try{let r=p.
getWebCrypto(),n=await r.generateKey("X25519",!0,["deriveKey","deriveBits"]).catch(u=>{if(u.name==="OperationError"){let h=new Error("Unexpected key generation issue");throw h.name="NotSupportedError",
h}throw u}),s=await r.exportKey("jwk",n.publicKey);if((await r.exportKey("jwk",n.privateKey)).x!==s.x){let u=new Error("Unexpected mismatching public point");throw u.name="NotSupportedError",u}let a=yo(
t,e),o=await r.importKey("jwk",a,"X25519",!1,[]),c=await r.deriveBits({name:"X25519",public:o},n.privateKey,po(t)*8);return{sharedSecret:new Uint8Array(c),ephemeralPublicKey:new Uint8Array(Ot(s.x))}}catch(r){
if(r.name!=="NotSupportedError")throw r;let{default:n}=await Promise.resolve().then(()=>(kr(),Er)),{secretKey:s,publicKey:i}=n.box.keyPair(),a=n.scalarMult(s,e);return Ys(a),{ephemeralPublicKey:i,sharedSecret:a}}case l.
publicKey.x448:{let r=await p.getNobleCurve(l.publicKey.x448),{secretKey:n,publicKey:s}=r.keygen(),i=r.getSharedSecret(n,e);return Ys(i),{ephemeralPublicKey:s,sharedSecret:i}}default:throw new Error("\
Unsupported ECDH algorithm")}}async function lu(t,e,r,n){switch(t){case l.publicKey.x25519:try{let s=p.getWebCrypto(),i=Md(t,r,n),a=yo(t,e),o=await s.importKey("jwk",i,"X25519",!1,["deriveKey","derive\
Bits"]),c=await s.importKey("jwk",a,"X25519",!1,[]),u=await s.deriveBits({name:"X25519",public:c},o,po(t)*8);return new Uint8Array(u)}catch(s){if(s.name!=="NotSupportedError")throw s;let{default:i}=await Promise.resolve().then(()=>(kr(),Er)),
a=i.scalarMult(n,e);return Ys(a),a}case l.publicKey.x448:{let i=(await p.getNobleCurve(l.publicKey.x448)).getSharedSecret(n,e);return Ys(i),i}default:throw new Error("Unsupported ECDH algorithm")}}function Ys(t){
let e=0;for(let r=0;r<t.length;r++)e|=t[r];if(e===0)throw new Error("Unexpected low order point")}function yo(t,e){if(t===l.publicKey.x25519)return{kty:"OKP",crv:"X25519",x:Pe(e),ext:!0};throw new Error(
"Unsupported ECDH algorithm")}function Md(t,e,r){if(t===l.publicKey.x25519){let n=yo(t,e);return n.d=Pe(r),n}else throw new Error("Unsupported ECDH algorithm")}var ga=p.getWebCrypto(),qs=p.getNodeCrypto(),xt={[l.curve.nistP256]:"P-256",[l.curve.nistP384]:"P-384",[l.curve.nistP521]:"P-521"},Tt=qs?qs.getCurves():[],At=qs?{[l.curve.secp256k1]:Tt.includes("secp2\
56k1")?"secp256k1":void 0,[l.curve.nistP256]:Tt.includes("prime256v1")?"prime256v1":void 0,[l.curve.nistP384]:Tt.includes("secp384r1")?"secp384r1":void 0,[l.curve.nistP521]:Tt.includes("secp521r1")?"s\
ecp521r1":void 0,[l.curve.ed25519Legacy]:Tt.includes("ED25519")?"ED25519":void 0,[l.curve.curve25519Legacy]:Tt.includes("X25519")?"X25519":void 0,[l.curve.brainpoolP256r1]:Tt.includes("brainpoolP256r1")?
"brainpoolP256r1":void 0,[l.curve.brainpoolP384r1]:Tt.includes("brainpoolP384r1")?"brainpoolP384r1":void 0,[l.curve.brainpoolP512r1]:Tt.includes("brainpoolP512r1")?"brainpoolP512r1":void 0}:{},uu={[l.
curve.nistP256]:{oid:[6,8,42,134,72,206,61,3,1,7],keyType:l.publicKey.ecdsa,hash:l.hash.sha256,cipher:l.symmetric.aes128,node:At[l.curve.nistP256],web:xt[l.curve.nistP256],payloadSize:32,sharedSize:256,
wireFormatLeadingByte:4},[l.curve.nistP384]:{oid:[6,5,43,129,4,0,34],keyType:l.publicKey.ecdsa,hash:l.hash.sha384,cipher:l.symmetric.aes192,node:At[l.curve.nistP384],web:xt[l.curve.nistP384],payloadSize:48,
sharedSize:384,wireFormatLeadingByte:4},[l.curve.nistP521]:{oid:[6,5,43,129,4,0,35],keyType:l.publicKey.ecdsa,hash:l.hash.sha512,cipher:l.symmetric.aes256,node:At[l.curve.nistP521],web:xt[l.curve.nistP521],
payloadSize:66,sharedSize:528,wireFormatLeadingByte:4},[l.curve.secp256k1]:{oid:[6,5,43,129,4,0,10],keyType:l.publicKey.ecdsa,hash:l.hash.sha256,cipher:l.symmetric.aes128,node:At[l.curve.secp256k1],payloadSize:32,
wireFormatLeadingByte:4},[l.curve.ed25519Legacy]:{oid:[6,9,43,6,1,4,1,218,71,15,1],keyType:l.publicKey.eddsaLegacy,hash:l.hash.sha512,node:!1,payloadSize:32,wireFormatLeadingByte:64},[l.curve.curve25519Legacy]:{
oid:[6,10,43,6,1,4,1,151,85,1,5,1],keyType:l.publicKey.ecdh,hash:l.hash.sha256,cipher:l.symmetric.aes128,node:!1,payloadSize:32,wireFormatLeadingByte:64},[l.curve.brainpoolP256r1]:{oid:[6,9,43,36,3,3,
2,8,1,1,7],keyType:l.publicKey.ecdsa,hash:l.hash.sha256,cipher:l.symmetric.aes128,node:At[l.curve.brainpoolP256r1],payloadSize:32,wireFormatLeadingByte:4},[l.curve.brainpoolP384r1]:{oid:[6,9,43,36,3,3,
2,8,1,1,11],keyType:l.publicKey.ecdsa,hash:l.hash.sha384,cipher:l.symmetric.aes192,node:At[l.curve.brainpoolP384r1],payloadSize:48,wireFormatLeadingByte:4},[l.curve.brainpoolP512r1]:{oid:[6,9,43,36,3,
3,2,8,1,1,13],keyType:l.publicKey.ecdsa,hash:l.hash.sha512,cipher:l.symmetric.aes256,node:At[l.curve.brainpoolP512r1],payloadSize:64,wireFormatLeadingByte:4}},ft=class{constructor(e){try{this.name=e instanceof
an?e.getName():l.write(l.curve,e)}catch{throw new J("Unknown curve")}let r=uu[this.name];this.keyType=r.keyType,this.oid=r.oid,this.hash=r.hash,this.cipher=r.cipher,this.node=r.node,this.web=r.web,this.
payloadSize=r.payloadSize,this.sharedSize=r.sharedSize,this.wireFormatLeadingByte=r.wireFormatLeadingByte,this.web&&p.getWebCrypto()?this.type="web":this.node&&p.getNodeCrypto()?this.type="node":this.
name===l.curve.curve25519Legacy?this.type="curve25519Legacy":this.name===l.curve.ed25519Legacy&&(this.type="ed25519Legacy")}async genKeyPair(){switch(this.type){case"web":try{return await _d(this.name,
this.wireFormatLeadingByte)}catch(e){return p.printDebugError("Browser did not support generating ec key "+e.message),hl(this.name)}case"node":return Fd(this.name);case"curve25519Legacy":{let{k:e,A:r}=await Td(
l.publicKey.x25519),n=e.slice().reverse();return n[0]=n[0]&127|64,n[31]&=248,{publicKey:p.concatUint8Array([new Uint8Array([this.wireFormatLeadingByte]),r]),privateKey:n}}case"ed25519Legacy":{let{seed:e,
A:r}=await ud(l.publicKey.ed25519);return{publicKey:p.concatUint8Array([new Uint8Array([this.wireFormatLeadingByte]),r]),privateKey:e}}default:return hl(this.name)}}};function Rd(t){return uu[t.getName()].hash}function Pr(t,e){let{payloadSize:r,wireFormatLeadingByte:n,name:s}=t,i=s===l.curve.curve25519Legacy||s===l.curve.ed25519Legacy?r:r*2;if(e[0]!==n||e.length!==i+1)throw new Error("Invalid point encoding")}
async function hl(t){let e=await p.getNobleCurve(l.publicKey.ecdsa,t),{secretKey:r}=e.keygen();return{publicKey:e.getPublicKey(r,!1),privateKey:r}}async function _d(t,e){let r=await ga.generateKey({name:"\
ECDSA",namedCurve:xt[t]},!0,["sign","verify"]),n=await ga.exportKey("jwk",r.privateKey),s=await ga.exportKey("jwk",r.publicKey);return{publicKey:hu(s,e),privateKey:Ot(n.d)}}function Fd(t){let e=qs.createECDH(
At[t]);return e.generateKeys(),{publicKey:new Uint8Array(e.getPublicKey()),privateKey:new Uint8Array(e.getPrivateKey())}}function hu(t,e){let r=Ot(t.x),n=Ot(t.y),s=new Uint8Array(r.length+n.length+1);
return s[0]=e,s.set(r,1),s.set(n,r.length+1),s}function gi(t,e,r){let n=t,s=r.slice(1,n+1),i=r.slice(n+1,n*2+1);return{kty:"EC",crv:e,x:Pe(s),y:Pe(i),ext:!0}}function fu(t,e,r,n){let s=gi(t,e,r);return s.
d=Pe(n),s}var Js=p.getWebCrypto(),pu=p.getNodeCrypto();async function Nd(t,e,r,n,s,i){let a=new ft(t);if(Pr(a,n),r&&!p.isStream(r)){let u={publicKey:n,privateKey:s};switch(a.type){case"web":try{return await Qd(
a,e,r,u)}catch(h){if(a.name!=="nistP521"&&(h.name==="DataError"||h.name==="OperationError"))throw h;p.printDebugError("Browser did not support signing: "+h.message)}break;case"node":return zd(a,e,r,s)}}
let c=(await p.getNobleCurve(l.publicKey.ecdsa,a.name)).sign(i,s,{lowS:!1});return{r:Xe(c.r,"be",a.payloadSize),s:Xe(c.s,"be",a.payloadSize)}}async function Od(t,e,r,n,s,i){let a=new ft(t);Pr(a,s);let o=async()=>i[0]===
0?fl(a,r,i.subarray(1),s):!1;if(n&&!p.isStream(n))switch(a.type){case"web":try{return await Hd(a,e,r,n,s)||o()}catch(u){if(a.name!=="nistP521"&&(u.name==="DataError"||u.name==="OperationError"))throw u;
p.printDebugError("Browser did not support verifying: "+u.message)}break;case"node":return jd(a,e,r,n,s)||o()}return await fl(a,r,i,s)||o()}async function fl(t,e,r,n){return(await p.getNobleCurve(l.publicKey.ecdsa,t.name)).verify(p.concatUint8Array([e.r,e.s]),r,n,{lowS:!1})}async function Qd(t,e,r,n){let s=t.payloadSize,i=fu(t.payloadSize,
xt[t.name],n.publicKey,n.privateKey),a=await Js.importKey("jwk",i,{name:"ECDSA",namedCurve:xt[t.name],hash:{name:l.read(l.webHash,t.hash)}},!1,["sign"]),o=new Uint8Array(await Js.sign({name:"ECDSA",namedCurve:xt[t.
name],hash:{name:l.read(l.webHash,e)}},a,r));return{r:o.slice(0,s),s:o.slice(s,s<<1)}}async function Hd(t,e,{r,s:n},s,i){let a=gi(t.payloadSize,xt[t.name],i),o=await Js.importKey("jwk",a,{name:"ECDSA",
namedCurve:xt[t.name],hash:{name:l.read(l.webHash,t.hash)}},!1,["verify"]),c=p.concatUint8Array([r,n]).buffer;return Js.verify({name:"ECDSA",namedCurve:xt[t.name],hash:{name:l.read(l.webHash,e)}},o,c,
s)}function zd(t,e,r,n){let s=p.nodeRequire("eckey-utils"),i=p.getNodeBuffer(),{privateKey:a}=s.generateDer({curveName:At[t.name],privateKey:i.from(n)}),o=pu.createSign(l.read(l.hash,e));o.write(r),o.
end();let c=new Uint8Array(o.sign({key:a,format:"der",type:"sec1",dsaEncoding:"ieee-p1363"})),u=t.payloadSize;return{r:c.subarray(0,u),s:c.subarray(u,u<<1)}}function jd(t,e,{r,s:n},s,i){let a=p.nodeRequire(
"eckey-utils"),o=p.getNodeBuffer(),{publicKey:c}=a.generateDer({curveName:At[t.name],publicKey:o.from(i)}),u=pu.createVerify(l.read(l.hash,e));u.write(s),u.end();let h=p.concatUint8Array([r,n]);try{return u.
verify({key:c,format:"der",type:"spki",dsaEncoding:"ieee-p1363"},h)}catch{return!1}}async function Gd(t,e,r,n,s,i){let a=new ft(t);if(Pr(a,n),ke(e)<ke(l.hash.sha256))throw new Error("Hash algorithm too weak for EdDSA.");let{RS:o}=await Gl(l.publicKey.ed25519,e,r,n.subarray(1),s,i);return{
r:o.subarray(0,32),s:o.subarray(32)}}async function Wd(t,e,{r,s:n},s,i,a){let o=new ft(t);if(Pr(o,i),ke(e)<ke(l.hash.sha256))throw new Error("Hash algorithm too weak for EdDSA.");let c=p.concatUint8Array(
[r,n]);return Wl(l.publicKey.ed25519,e,{RS:c},s,i.subarray(1),a)}function Vd(t){let e=8-t.length%8,r=new Uint8Array(t.length+e).fill(e);return r.set(t),r}function Yd(t){let e=t.length;if(e>0){let r=t[e-1];if(r>=1){let n=t.subarray(e-r),s=new Uint8Array(r).fill(r);if(p.
equalsUint8Array(n,s))return t.subarray(0,e-r)}}throw new Error("Invalid padding")}function du(t,e,r,n){return p.concatUint8Array([e.write(),new Uint8Array([t]),r.write(),p.stringToUint8Array("Anonymous Sender    "),n])}async function yu(t,e,r,n,s=!1,i=!1){let a;if(s){for(a=0;a<e.length&&
e[a]===0;a++);e=e.subarray(a)}if(i){for(a=e.length-1;a>=0&&e[a]===0;a--);e=e.subarray(0,a+1)}return(await Dr(t,p.concatUint8Array([new Uint8Array([0,0,0,1]),e,n]))).subarray(0,r)}async function qd(t,e){
switch(t.type){case"curve25519Legacy":{let{sharedSecret:r,ephemeralPublicKey:n}=await cu(l.publicKey.x25519,e.subarray(1));return{publicKey:p.concatUint8Array([new Uint8Array([t.wireFormatLeadingByte]),
n]),sharedKey:r}}case"web":if(t.web&&p.getWebCrypto())try{return await ey(t,e)}catch(r){return p.printDebugError(r),dl(t,e)}break;case"node":return ry(t,e);default:return dl(t,e)}}async function Jd(t,e,r,n,s){
let i=Vd(r),a=new ft(t);Pr(a,n);let{publicKey:o,sharedKey:c}=await qd(a,n),u=du(l.publicKey.ecdh,t,e,s),{keySize:h}=se(e.cipher),f=await yu(e.hash,c,h,u),d=await La(e.cipher,f,i);return{publicKey:o,wrappedKey:d}}
async function $d(t,e,r,n){if(n.length!==t.payloadSize){let s=new Uint8Array(t.payloadSize);s.set(n,t.payloadSize-n.length),n=s}switch(t.type){case"curve25519Legacy":{let s=n.slice().reverse(),i=await lu(
l.publicKey.x25519,e.subarray(1),r.subarray(1),s);return{secretKey:s,sharedKey:i}}case"web":if(t.web&&p.getWebCrypto())try{return await Zd(t,e,r,n)}catch(s){return p.printDebugError(s),pl(t,e,n)}break;case"\
node":return ty(t,e,n);default:return pl(t,e,n)}}async function Xd(t,e,r,n,s,i,a){let o=new ft(t);Pr(o,s),Pr(o,r);let{sharedKey:c}=await $d(o,r,s,i),u=du(l.publicKey.ecdh,t,e,a),{keySize:h}=se(e.cipher),
f;for(let d=0;d<3;d++)try{let g=await yu(e.hash,c,h,u,d===1,d===2);return Yd(await Ma(e.cipher,g,n))}catch(g){f=g}throw f}async function pl(t,e,r){let i=(await p.getNobleCurve(l.publicKey.ecdh,t.name)).
getSharedSecret(r,e).subarray(1);return{secretKey:r,sharedKey:i}}async function dl(t,e){let r=await p.getNobleCurve(l.publicKey.ecdh,t.name),{publicKey:n,privateKey:s}=await t.genKeyPair(),a=r.getSharedSecret(
s,e).subarray(1);return{publicKey:n,sharedKey:a}}async function Zd(t,e,r,n){let s=p.getWebCrypto(),i=fu(t.payloadSize,t.web,r,n),a=s.importKey("jwk",i,{name:"ECDH",namedCurve:t.web},!0,["deriveKey","d\
eriveBits"]),o=gi(t.payloadSize,t.web,e),c=s.importKey("jwk",o,{name:"ECDH",namedCurve:t.web},!0,[]);[a,c]=await Promise.all([a,c]);let u=s.deriveBits({name:"ECDH",namedCurve:t.web,public:c},a,t.sharedSize),
h=s.exportKey("jwk",a);[u,h]=await Promise.all([u,h]);let f=new Uint8Array(u);return{secretKey:Ot(h.d),sharedKey:f}}async function ey(t,e){let r=p.getWebCrypto(),n=gi(t.payloadSize,t.web,e),s=r.generateKey(
{name:"ECDH",namedCurve:t.web},!0,["deriveKey","deriveBits"]),i=r.importKey("jwk",n,{name:"ECDH",namedCurve:t.web},!1,[]);[s,i]=await Promise.all([s,i]);let a=r.deriveBits({name:"ECDH",namedCurve:t.web,
public:i},s.privateKey,t.sharedSize),o=r.exportKey("jwk",s.publicKey);[a,o]=await Promise.all([a,o]);let c=new Uint8Array(a);return{publicKey:new Uint8Array(hu(o,t.wireFormatLeadingByte)),sharedKey:c}}
function ty(t,e,r){let s=p.getNodeCrypto().createECDH(t.node);s.setPrivateKey(r);let i=new Uint8Array(s.computeSecret(e));return{secretKey:new Uint8Array(s.getPrivateKey()),sharedKey:i}}function ry(t,e){
let n=p.getNodeCrypto().createECDH(t.node);n.generateKeys();let s=new Uint8Array(n.computeSecret(e));return{publicKey:new Uint8Array(n.getPublicKey()),sharedKey:s}}var wa=BigInt(0),ny=BigInt(1);async function sy(t,e,r,n,s,i){let a=BigInt(0);n=H(n),s=H(s),r=H(r),i=H(i);let o,c,u,h;r=ee(r,n),i=ee(i,s);let f=ee(H(e.subarray(0,je(s))),s);for(;;){if(o=eo(ny,s),c=ee(tt(
r,o,n),s),c===a)continue;let d=ee(i*c,s);if(h=ee(f+d,s),u=ee(pi(o,s)*h,s),u!==a)break}return{r:Xe(c,"be",je(n)),s:Xe(u,"be",je(n))}}async function iy(t,e,r,n,s,i,a,o){if(e=H(e),r=H(r),i=H(i),a=H(a),s=
H(s),o=H(o),e<=wa||e>=a||r<=wa||r>=a)return p.printDebug("invalid DSA Signature"),!1;let c=ee(H(n.subarray(0,je(a))),a),u=pi(r,a);if(u===wa)return p.printDebug("invalid DSA Signature"),!1;s=ee(s,i),o=
ee(o,i);let h=ee(c*u,a),f=ee(e*u,a),d=tt(s,h,i),g=tt(o,f,i);return ee(ee(d*g,i),a)===e}var $s=class{constructor(e){e&&(this.data=e)}read(e){if(e.length>=1){let r=e[0];if(e.length>=1+r)return this.data=e.subarray(1,1+r),1+this.data.length}throw new Error("Invalid symmetric key")}write(){
return p.concatUint8Array([new Uint8Array([this.data.length]),this.data])}},Ra=class{constructor(e){if(e){let{hash:r,cipher:n}=e;this.hash=r,this.cipher=n}else this.hash=null,this.cipher=null}read(e){
if(e.length<4||e[0]!==3||e[1]!==1)throw new J("Cannot read KDFParams");return this.hash=e[2],this.cipher=e[3],4}write(){return new Uint8Array([3,1,this.hash,this.cipher])}},Xs=class t{static fromObject({
wrappedKey:e,algorithm:r}){let n=new t;return n.wrappedKey=e,n.algorithm=r,n}read(e){let r=0,n=e[r++];this.algorithm=n%2?e[r++]:null,n-=n%2,this.wrappedKey=p.readExactSubarray(e,r,r+n),r+=n}write(){return p.
concatUint8Array([this.algorithm?new Uint8Array([this.wrappedKey.length+1,this.algorithm]):new Uint8Array([this.wrappedKey.length]),this.wrappedKey])}};async function ay(t,e,r,n,s){switch(t){case l.publicKey.
rsaEncrypt:case l.publicKey.rsaEncryptSign:{let{n:i,e:a}=r;return{c:await Wp(n,i,a)}}case l.publicKey.elgamal:{let{p:i,g:a,y:o}=r;return sd(n,i,a,o)}case l.publicKey.ecdh:{let{oid:i,Q:a,kdfParams:o}=r,
{publicKey:c,wrappedKey:u}=await Jd(i,o,n,a,s);return{V:c,C:new $s(u)}}case l.publicKey.x25519:case l.publicKey.x448:{if(e&&!p.isAES(e))throw new Error("X25519 and X448 keys can only encrypt AES sessi\
on keys");let{A:i}=r,{ephemeralPublicKey:a,wrappedKey:o}=await Ud(t,n,i),c=Xs.fromObject({algorithm:e,wrappedKey:o});return{ephemeralPublicKey:a,C:c}}default:return[]}}async function oy(t,e,r,n,s,i){switch(t){case l.
publicKey.rsaEncryptSign:case l.publicKey.rsaEncrypt:{let{c:a}=n,{n:o,e:c}=e,{d:u,p:h,q:f,u:d}=r;return Vp(a,o,c,u,h,f,d,i)}case l.publicKey.elgamal:{let{c1:a,c2:o}=n,c=e.p,u=r.x;return id(a,o,c,u,i)}case l.
publicKey.ecdh:{let{oid:a,Q:o,kdfParams:c}=e,{d:u}=r,{V:h,C:f}=n;return Xd(a,c,h,f.data,o,u,s)}case l.publicKey.x25519:case l.publicKey.x448:{let{A:a}=e,{k:o}=r,{ephemeralPublicKey:c,C:u}=n;if(u.algorithm!==
null&&!p.isAES(u.algorithm))throw new Error("AES session key expected");return Ld(t,c,u.wrappedKey,a,o)}default:throw new Error("Unknown public key encryption algorithm.")}}function cy(t,e){let r=0;switch(t){case l.
publicKey.rsaEncrypt:case l.publicKey.rsaEncryptSign:case l.publicKey.rsaSign:{let n=p.readMPI(e.subarray(r));r+=n.length+2;let s=p.readMPI(e.subarray(r));return r+=s.length+2,{read:r,publicParams:{n,
e:s}}}case l.publicKey.dsa:{let n=p.readMPI(e.subarray(r));r+=n.length+2;let s=p.readMPI(e.subarray(r));r+=s.length+2;let i=p.readMPI(e.subarray(r));r+=i.length+2;let a=p.readMPI(e.subarray(r));return r+=
a.length+2,{read:r,publicParams:{p:n,q:s,g:i,y:a}}}case l.publicKey.elgamal:{let n=p.readMPI(e.subarray(r));r+=n.length+2;let s=p.readMPI(e.subarray(r));r+=s.length+2;let i=p.readMPI(e.subarray(r));return r+=
i.length+2,{read:r,publicParams:{p:n,g:s,y:i}}}case l.publicKey.ecdsa:{let n=new an;r+=n.read(e),ma(n);let s=p.readMPI(e.subarray(r));return r+=s.length+2,{read:r,publicParams:{oid:n,Q:s}}}case l.publicKey.
eddsaLegacy:{let n=new an;if(r+=n.read(e),ma(n),n.getName()!==l.curve.ed25519Legacy)throw new Error("Unexpected OID for eddsaLegacy");let s=p.readMPI(e.subarray(r));return r+=s.length+2,s=p.leftPad(s,
33),{read:r,publicParams:{oid:n,Q:s}}}case l.publicKey.ecdh:{let n=new an;r+=n.read(e),ma(n);let s=p.readMPI(e.subarray(r));r+=s.length+2;let i=new Ra;return r+=i.read(e.subarray(r)),{read:r,publicParams:{
oid:n,Q:s,kdfParams:i}}}case l.publicKey.ed25519:case l.publicKey.ed448:case l.publicKey.x25519:case l.publicKey.x448:{let n=p.readExactSubarray(e,r,r+gu(t));return r+=n.length,{read:r,publicParams:{A:n}}}default:
throw new J("Unknown public key encryption algorithm.")}}function ly(t,e){let r=0;switch(t){case l.publicKey.rsaEncrypt:case l.publicKey.rsaEncryptSign:return{c:p.readMPI(e.subarray(r))};case l.publicKey.elgamal:{let n=p.readMPI(e.subarray(r));r+=n.length+2;
let s=p.readMPI(e.subarray(r));return{c1:n,c2:s}}case l.publicKey.ecdh:{let n=p.readMPI(e.subarray(r));r+=n.length+2;let s=new $s;return s.read(e.subarray(r)),{V:n,C:s}}case l.publicKey.x25519:case l.
publicKey.x448:{let n=gu(t),s=p.readExactSubarray(e,r,r+n);r+=s.length;let i=new Xs;return i.read(e.subarray(r)),{ephemeralPublicKey:s,C:i}}default:throw new J("Unknown public key encryption algorithm\
.")}}function Zs(t,e){let r=new Set([l.publicKey.ed25519,l.publicKey.x25519,l.publicKey.ed448,l.publicKey.x448]),n=Object.keys(e).map(s=>{let i=e[s];return p.isUint8Array(i)?r.has(t)?i:p.uint8ArrayToMPI(
i):i.write()});return p.concatUint8Array(n)}function _a(t){let{keySize:e}=se(t);return st(e)}function ma(t){try{t.getName()}catch{throw new J("Unknown curve OID")}}function gu(t,e){switch(t){case l.publicKey.ecdsa:case l.publicKey.ecdh:case l.publicKey.
eddsaLegacy:return new ft(e).payloadSize;case l.publicKey.ed25519:case l.publicKey.ed448:return so(t);case l.publicKey.x25519:case l.publicKey.x448:return po(t);default:throw new Error("Unknown ellipt\
ic algo")}}function uy(t,e){switch(t){case l.publicKey.ecdsa:case l.publicKey.eddsaLegacy:return Rd(e);case l.publicKey.ed25519:case l.publicKey.ed448:return io(t);default:throw new Error("Unknown ell\
iptic signing algo")}}var Rs=p.getWebCrypto(),Hn=p.getNodeCrypto(),Cr=Hn?Hn.getCiphers():[],wi={idea:Cr.includes("idea-cfb")?"idea-cfb":void 0,tripledes:Cr.includes("des-ede3-cfb")?"des-ede3-cfb":void 0,
cast5:Cr.includes("cast5-cfb")?"cast5-cfb":void 0,blowfish:Cr.includes("bf-cfb")?"bf-cfb":void 0,aes128:Cr.includes("aes-128-cfb")?"aes-128-cfb":void 0,aes192:Cr.includes("aes-192-cfb")?"aes-192-cfb":
void 0,aes256:Cr.includes("aes-256-cfb")?"aes-256-cfb":void 0};function wu(t){let{blockSize:e}=se(t),r=st(e),n=new Uint8Array([r[r.length-2],r[r.length-1]]);return p.concat([r,n])}async function ei(t,e,r,n,s){
let i=l.read(l.symmetric,t);if(p.getNodeCrypto()&&wi[i])return py(t,e,r,n);if(p.isAES(t))return hy(t,e,r,n);let a=await ou(t),o=new a(e),c=o.blockSize,u=n.slice(),h=new Uint8Array,f=d=>{d&&(h=p.concatUint8Array(
[h,d]));let g=new Uint8Array(h.length),w,b=0;for(;d?h.length>=c:h.length;){let A=o.encrypt(u);for(w=0;w<c;w++)u[w]=h[w]^A[w],g[b++]=u[w];h=h.subarray(c)}return g.subarray(0,b)};return me(r,f,f)}async function go(t,e,r,n){
let s=l.read(l.symmetric,t);if(Hn&&wi[s])return dy(t,e,r,n);if(p.isAES(t))return fy(t,e,r,n);let i=await ou(t),a=new i(e),o=a.blockSize,c=n,u=new Uint8Array,h=f=>{f&&(u=p.concatUint8Array([u,f]));let d=new Uint8Array(
u.length),g,w=0;for(;f?u.length>=o:u.length;){let b=a.encrypt(c);for(c=u.subarray(0,o),g=0;g<o;g++)d[w++]=c[g]^b[g];u=u.subarray(o)}return d.subarray(0,w)};return me(r,h,h)}var ti=class{constructor(e,r,n){
let{blockSize:s}=se(e);this.key=r,this.iv=n,this.prevBlock=n.slice(),this.nextBlock=new Uint8Array(s),this.i=0,this.blockSize=s,this.zeroBlock=new Uint8Array(this.blockSize)}static isSupported(e){let{
keySize:r}=se(e);return Rs.importKey("raw",new Uint8Array(r),"aes-cbc",!1,["encrypt"]).then(()=>!0,()=>!1)}async _runCBC(e,r){let n="AES-CBC";this.keyRef=this.keyRef||await Rs.importKey("raw",this.key,
n,!1,["encrypt"]);let s=await Rs.encrypt({name:n,iv:r||this.zeroBlock},this.keyRef,e);return new Uint8Array(s).subarray(0,e.length)}async encryptChunk(e){let r=this.nextBlock.length-this.i,n=e.subarray(
0,r);if(this.nextBlock.set(n,this.i),this.i+e.length>=2*this.blockSize){let i=(e.length-r)%this.blockSize,a=p.concatUint8Array([this.nextBlock,e.subarray(r,e.length-i)]),o=p.concatUint8Array([this.prevBlock,
a.subarray(0,a.length-this.blockSize)]),c=await this._runCBC(o);return Ks(c,a),this.prevBlock=c.slice(-this.blockSize),i>0&&this.nextBlock.set(e.subarray(-i)),this.i=i,c}this.i+=n.length;let s;if(this.
i===this.nextBlock.length){let i=this.nextBlock;s=await this._runCBC(this.prevBlock),Ks(s,i),this.prevBlock=s.slice(),this.i=0;let a=e.subarray(n.length);this.nextBlock.set(a,this.i),this.i+=a.length}else
s=new Uint8Array;return s}async finish(){let e;if(this.i===0)e=new Uint8Array;else{this.nextBlock=this.nextBlock.subarray(0,this.i);let r=this.nextBlock,n=await this._runCBC(this.prevBlock);Ks(n,r),e=
n.subarray(0,r.length)}return this.clearSensitiveData(),e}clearSensitiveData(){this.nextBlock.fill(0),this.prevBlock.fill(0),this.keyRef=null,this.key=null}async encrypt(e){let n=(await this._runCBC(p.
concatUint8Array([new Uint8Array(this.blockSize),e]),this.iv)).subarray(0,e.length);return Ks(n,e),this.clearSensitiveData(),n}},ri=class{constructor(e,r,n,s){this.forEncryption=e;let{blockSize:i}=se(
r);this.key=ul.expandKeyLE(n),s.byteOffset%4!==0&&(s=s.slice()),this.prevBlock=Aa(s),this.nextBlock=new Uint8Array(i),this.i=0,this.blockSize=i}_runCFB(e){let r=Aa(e),n=new Uint8Array(e.length),s=Aa(n);
for(let i=0;i+4<=s.length;i+=4){let{s0:a,s1:o,s2:c,s3:u}=ul.encrypt(this.key,this.prevBlock[0],this.prevBlock[1],this.prevBlock[2],this.prevBlock[3]);s[i+0]=r[i+0]^a,s[i+1]=r[i+1]^o,s[i+2]=r[i+2]^c,s[i+
3]=r[i+3]^u,this.prevBlock=(this.forEncryption?s:r).slice(i,i+4)}return n}async processChunk(e){let r=this.nextBlock.length-this.i,n=e.subarray(0,r);if(this.nextBlock.set(n,this.i),this.i+e.length>=2*
this.blockSize){let i=(e.length-r)%this.blockSize,a=p.concatUint8Array([this.nextBlock,e.subarray(r,e.length-i)]),o=this._runCFB(a);return i>0&&this.nextBlock.set(e.subarray(-i)),this.i=i,o}this.i+=n.
length;let s;if(this.i===this.nextBlock.length){s=this._runCFB(this.nextBlock),this.i=0;let i=e.subarray(n.length);this.nextBlock.set(i,this.i),this.i+=i.length}else s=new Uint8Array;return s}async finish(){
let e;return this.i===0?e=new Uint8Array:e=this._runCFB(this.nextBlock).subarray(0,this.i),this.clearSensitiveData(),e}clearSensitiveData(){this.nextBlock.fill(0),this.prevBlock.fill(0),this.key.fill(
0)}};async function hy(t,e,r,n){if(Rs&&await ti.isSupported(t)){let s=new ti(t,e,n);return p.isStream(r)?Ba(r,i=>s.encryptChunk(i),()=>s.finish()):s.encrypt(r)}else if(p.isStream(r)){let s=new ri(!0,t,
e,n);return Ba(r,i=>s.processChunk(i),()=>s.finish())}return ru(e,n).encrypt(r)}function fy(t,e,r,n){if(p.isStream(r)){let s=new ri(!1,t,e,n);return Ba(r,i=>s.processChunk(i),()=>s.finish())}return ru(
e,n).decrypt(r)}function Ks(t,e){let r=Math.min(t.length,e.length);for(let n=0;n<r;n++)t[n]=t[n]^e[n]}var Aa=t=>new Uint32Array(t.buffer,t.byteOffset,Math.floor(t.byteLength/4));function py(t,e,r,n){let s=l.
read(l.symmetric,t),i=new Hn.createCipheriv(wi[s],e,n);return me(r,a=>new Uint8Array(i.update(a)))}function dy(t,e,r,n){let s=l.read(l.symmetric,t),i=new Hn.createDecipheriv(wi[s],e,n);return me(r,a=>new Uint8Array(
i.update(a)))}var yl=p.getWebCrypto(),yy=p.getNodeCrypto(),Ft=16;function gl(t,e){let r=t.length-Ft;for(let n=0;n<Ft;n++)t[n+r]^=e[n];return t}function gy(t,e,r){if(t.length&&t.length%Ft===0)return gl(
t,e);let n=new Uint8Array(t.length+(Ft-t.length%Ft));return n.set(t),n[t.length]=128,gl(n,r)}var _s=new Uint8Array(Ft);async function wy(t){let e=await my(t),r=p.double(await e(_s)),n=p.double(r);return async function(s){
return(await e(gy(s,r,n))).subarray(-Ft)}}async function my(t){if(p.getNodeCrypto())return async function(e){let n=new yy.createCipheriv("aes-"+t.length*8+"-cbc",t,_s).update(e);return new Uint8Array(
n)};if(p.getWebCrypto())try{return t=await yl.importKey("raw",t,{name:"AES-CBC",length:t.length*8},!1,["encrypt"]),async function(e){let r=await yl.encrypt({name:"AES-CBC",iv:_s,length:Ft*8},t,e);return new Uint8Array(
r).subarray(0,r.byteLength-Ft)}}catch(e){if(e.name!=="NotSupportedError"&&!(t.length===24&&e.name==="OperationError"))throw e;p.printDebugError("Browser did not support operation: "+e.message)}return async function(e){
return Ua(t,_s,{disablePadding:!0}).encrypt(e)}}var wl=p.getWebCrypto(),Ay=p.getNodeCrypto(),by=p.getNodeBuffer(),zt=16,Ey=zt,rn=zt,ml=new Uint8Array(zt),Fa=new Uint8Array(zt);Fa[zt-1]=1;var Na=new Uint8Array(
zt);Na[zt-1]=2;async function ky(t){let e=await wy(t);return function(r,n){return e(p.concatUint8Array([r,n]))}}async function xy(t){if(p.getNodeCrypto())return async function(e,r){let n=new Ay.createCipheriv(
"aes-"+t.length*8+"-ctr",t,r),s=by.concat([n.update(e),n.final()]);return new Uint8Array(s)};if(p.getWebCrypto())try{let e=await wl.importKey("raw",t,{name:"AES-CTR",length:t.length*8},!1,["encrypt"]);
return async function(r,n){let s=await wl.encrypt({name:"AES-CTR",counter:n,length:zt*8},e,r);return new Uint8Array(s)}}catch(e){if(e.name!=="NotSupportedError"&&!(t.length===24&&e.name==="OperationEr\
ror"))throw e;p.printDebugError("Browser did not support operation: "+e.message)}return async function(e,r){return Sd(t,r).encrypt(e)}}async function $n(t,e){if(t!==l.symmetric.aes128&&t!==l.symmetric.
aes192&&t!==l.symmetric.aes256)throw new Error("EAX mode supports only AES cipher");let[r,n]=await Promise.all([ky(e),xy(e)]);return{encrypt:async function(s,i,a){let[o,c]=await Promise.all([r(ml,i),r(
Fa,a)]),u=await n(s,o),f=await r(Na,u);for(let d=0;d<rn;d++)f[d]^=c[d]^o[d];return p.concatUint8Array([u,f])},decrypt:async function(s,i,a){if(s.length<rn)throw new Error("Invalid EAX ciphertext");let o=s.
subarray(0,-rn),c=s.subarray(-rn),[u,h,f]=await Promise.all([r(ml,i),r(Fa,a),r(Na,o)]),d=f;for(let w=0;w<rn;w++)d[w]^=h[w]^u[w];if(!p.timingSafeEqualsUint8Array(c,d))throw new Error("Authentication ta\
g mismatch");return await n(o,u)}}}$n.getNonce=function(t,e){let r=t.slice();for(let n=0;n<e.length;n++)r[8+n]^=e[n];return r};$n.blockLength=zt;$n.ivLength=Ey;$n.tagLength=rn;var Qe=16,mu=15,ir=16;function Al(t){
let e=0;for(let r=1;(t&r)===0;r<<=1)e++;return e}function ze(t,e){for(let r=0;r<t.length;r++)t[r]^=e[r];return t}function Ps(t,e){return ze(t.slice(),e)}var Kn=new Uint8Array(Qe),Sy=new Uint8Array([1]);
async function Xn(t,e){let{keySize:r}=se(t);if(!p.isAES(t)||e.length!==r)throw new Error("Unexpected algorithm or key size");let n=0,s=f=>Ua(e,Kn,{disablePadding:!0}).encrypt(f),i=f=>Ua(e,Kn,{disablePadding:!0}).
decrypt(f),a;o();function o(){let f=s(Kn),d=p.double(f);a=[],a[0]=p.double(d),a.x=f,a.$=d}function c(f,d){let g=p.nbits(Math.max(f.length,d.length)/Qe|0)-1;for(let w=n+1;w<=g;w++)a[w]=p.double(a[w-1]);
n=g}function u(f){if(!f.length)return Kn;let d=f.length/Qe|0,g=new Uint8Array(Qe),w=new Uint8Array(Qe);for(let b=0;b<d;b++)ze(g,a[Al(b+1)]),ze(w,s(Ps(g,f))),f=f.subarray(Qe);if(f.length){ze(g,a.x);let b=new Uint8Array(
Qe);b.set(f,0),b[f.length]=128,ze(b,g),ze(w,s(b))}return w}function h(f,d,g,w){let b=d.length/Qe|0;c(d,w);let A=p.concatUint8Array([Kn.subarray(0,mu-g.length),Sy,g]),k=A[Qe-1]&63;A[Qe-1]&=192;let E=s(
A),S=p.concatUint8Array([E,Ps(E.subarray(0,8),E.subarray(1,9))]),v=p.shiftRight(S.subarray(0+(k>>3),17+(k>>3)),8-(k&7)).subarray(1),K=new Uint8Array(Qe),U=new Uint8Array(d.length+ir),M,D=0;for(M=0;M<b;M++)
ze(v,a[Al(M+1)]),U.set(ze(f(Ps(v,d)),v),D),ze(K,f===s?d:U.subarray(D)),d=d.subarray(Qe),D+=Qe;if(d.length){ze(v,a.x);let P=s(v);U.set(Ps(d,P),D);let I=new Uint8Array(Qe);I.set(f===s?d:U.subarray(D,-ir),
0),I[d.length]=128,ze(K,I),D+=d.length}let T=ze(s(ze(ze(K,v),a.$)),u(w));return U.set(T,D),U}return{encrypt:async function(f,d,g){return h(s,f,d,g)},decrypt:async function(f,d,g){if(f.length<ir)throw new Error(
"Invalid OCB ciphertext");let w=f.subarray(-ir);f=f.subarray(0,-ir);let b=h(i,f,d,g);if(p.timingSafeEqualsUint8Array(w,b.subarray(-ir)))return b.subarray(0,-ir);throw new Error("Authentication tag mis\
match")}}}Xn.getNonce=function(t,e){let r=t.slice();for(let n=0;n<e.length;n++)r[7+n]^=e[n];return r};Xn.blockLength=Qe;Xn.ivLength=mu;Xn.tagLength=ir;var ba=p.getWebCrypto(),bl=p.getNodeCrypto(),El=p.
getNodeBuffer(),vy=16,Cy=12,nn=16,Ea="AES-GCM";async function pn(t,e){if(t!==l.symmetric.aes128&&t!==l.symmetric.aes192&&t!==l.symmetric.aes256)throw new Error("GCM mode supports only AES cipher");if(p.
getNodeCrypto())return{encrypt:async function(r,n,s=new Uint8Array){let i=new bl.createCipheriv("aes-"+e.length*8+"-gcm",e,n);i.setAAD(s);let a=El.concat([i.update(r),i.final(),i.getAuthTag()]);return new Uint8Array(
a)},decrypt:async function(r,n,s=new Uint8Array){let i=new bl.createDecipheriv("aes-"+e.length*8+"-gcm",e,n);i.setAAD(s),i.setAuthTag(r.slice(r.length-nn,r.length));let a=El.concat([i.update(r.slice(0,
r.length-nn)),i.final()]);return new Uint8Array(a)}};if(p.getWebCrypto())try{let r=await ba.importKey("raw",e,{name:Ea},!1,["encrypt","decrypt"]),n=navigator.userAgent.match(/Version\/13\.\d(\.\d)* Safari/)||
navigator.userAgent.match(/Version\/(13|14)\.\d(\.\d)* Mobile\/\S* Safari/);return{encrypt:async function(s,i,a=new Uint8Array){if(n&&!s.length)return Ds(e,i,a).encrypt(s);let o=await ba.encrypt({name:Ea,
iv:i,additionalData:a,tagLength:nn*8},r,s);return new Uint8Array(o)},decrypt:async function(s,i,a=new Uint8Array){if(n&&s.length===nn)return Ds(e,i,a).decrypt(s);try{let o=await ba.decrypt({name:Ea,iv:i,
additionalData:a,tagLength:nn*8},r,s);return new Uint8Array(o)}catch(o){if(o.name==="OperationError")throw new Error("Authentication tag mismatch")}}}}catch(r){if(r.name!=="NotSupportedError"&&!(e.length===
24&&r.name==="OperationError"))throw r;p.printDebugError("Browser did not support operation: "+r.message)}return{encrypt:async function(r,n,s){return Ds(e,n,s).encrypt(r)},decrypt:async function(r,n,s){
return Ds(e,n,s).decrypt(r)}}}pn.getNonce=function(t,e){let r=t.slice();for(let n=0;n<e.length;n++)r[4+n]^=e[n];return r};pn.blockLength=vy;pn.ivLength=Cy;pn.tagLength=nn;function ln(t,e=!1){switch(t){case l.
aead.eax:return $n;case l.aead.ocb:return Xn;case l.aead.gcm:return pn;case l.aead.experimentalGCM:if(!e)throw new Error("Unexpected non-standard `experimentalGCM` AEAD algorithm provided in `config.p\
referredAEADAlgorithm`: use `gcm` instead");return pn;default:throw new Error("Unsupported AEAD mode")}}function Iy(t,e){let r=0;switch(t){case l.publicKey.rsaEncryptSign:case l.publicKey.rsaEncrypt:case l.
publicKey.rsaSign:{let n=p.readMPI(e.subarray(r));return r+=n.length+2,{read:r,signatureParams:{s:n}}}case l.publicKey.dsa:case l.publicKey.ecdsa:{let n=p.readMPI(e.subarray(r));r+=n.length+2;let s=p.
readMPI(e.subarray(r));return r+=s.length+2,{read:r,signatureParams:{r:n,s}}}case l.publicKey.eddsaLegacy:{let n=p.readMPI(e.subarray(r));r+=n.length+2;let s=p.readMPI(e.subarray(r));return r+=s.length+
2,{read:r,signatureParams:{r:n,s}}}case l.publicKey.ed25519:case l.publicKey.ed448:{let n=2*so(t),s=p.readExactSubarray(e,r,r+n);return r+=s.length,{read:r,signatureParams:{RS:s}}}default:throw new J(
"Unknown signature algorithm.")}}async function By(t,e,r,n,s,i){switch(t){case l.publicKey.rsaEncryptSign:case l.publicKey.rsaEncrypt:case l.publicKey.rsaSign:{let{n:a,e:o}=n,c=p.leftPad(r.s,a.length);
return Gp(e,s,c,a,o,i)}case l.publicKey.dsa:{let{g:a,p:o,q:c,y:u}=n,{r:h,s:f}=r;return iy(e,h,f,i,a,o,c,u)}case l.publicKey.ecdsa:{let{oid:a,Q:o}=n,c=new ft(a).payloadSize,u=p.leftPad(r.r,c),h=p.leftPad(
r.s,c);return Od(a,e,{r:u,s:h},s,o,i)}case l.publicKey.eddsaLegacy:{let{oid:a,Q:o}=n,c=new ft(a).payloadSize,u=p.leftPad(r.r,c),h=p.leftPad(r.s,c);return Wd(a,e,{r:u,s:h},s,o,i)}case l.publicKey.ed25519:case l.
publicKey.ed448:{let{A:a}=n;return Wl(t,e,r,s,a,i)}default:throw new Error("Unknown signature algorithm.")}}async function Dy(t,e,r,n,s,i){if(!r||!n)throw new Error("Missing key parameters");switch(t){case l.
publicKey.rsaEncryptSign:case l.publicKey.rsaEncrypt:case l.publicKey.rsaSign:{let{n:a,e:o}=r,{d:c,p:u,q:h,u:f}=n;return{s:await jp(e,s,a,o,c,u,h,f,i)}}case l.publicKey.dsa:{let{g:a,p:o,q:c}=r,{x:u}=n;
return sy(e,i,a,o,c,u)}case l.publicKey.elgamal:throw new Error("Signing with Elgamal is not defined in the OpenPGP standard.");case l.publicKey.ecdsa:{let{oid:a,Q:o}=r,{d:c}=n;return Nd(a,e,s,o,c,i)}case l.
publicKey.eddsaLegacy:{let{oid:a,Q:o}=r,{seed:c}=n;return Gd(a,e,s,o,c,i)}case l.publicKey.ed25519:case l.publicKey.ed448:{let{A:a}=r,{seed:o}=n;return Gl(t,e,s,a,o,i)}default:throw new Error("Unknown\
 signature algorithm.")}}var Ky=2,Py=19,Ty=16,kl=30,un=class t extends Error{constructor(...e){super(...e),Error.captureStackTrace&&Error.captureStackTrace(this,t),this.name="Argon2OutOfMemoryError"}},
Ts,Pn,Uy=2<<19,Oa=class{constructor(e=L){let{passes:r,parallelism:n,memoryExponent:s}=e.s2kArgon2Params;this.type="argon2",this.salt=null,this.t=r,this.p=n,this.encodedM=s}generateSalt(){this.salt=st(
Ty)}read(e){let r=0;return this.salt=e.subarray(r,r+16),r+=16,this.t=e[r++],this.p=e[r++],this.encodedM=e[r++],r}write(){let e=[new Uint8Array([l.write(l.s2k,this.type)]),this.salt,new Uint8Array([this.
t,this.p,this.encodedM])];return p.concatUint8Array(e)}async produceKey(e,r,n){if(n.maxArgon2MemoryExponent>kl)throw new un(`'config.maxArgon2MemoryExponent' exceeds the max allowed value of ${kl}`);if(this.
encodedM>n.maxArgon2MemoryExponent)throw new un("Argon2 required memory exceeds `config.maxArgon2MemoryExponent`");let s=1<<this.encodedM;try{Ts=Ts||(await Promise.resolve().then(()=>(qc(),Yc))).default,
Pn=Pn||Ts();let i=await Pn,a=p.encodeUTF8(e),o=i({version:Py,type:Ky,password:a,salt:this.salt,tagLength:r,memorySize:s,parallelism:this.p,passes:this.t});return s>Uy&&(Pn=Ts(),Pn.catch(()=>{})),o}catch(i){
throw i.message&&(i.message.includes("Unable to grow instance memory")||i.message.includes("failed to grow memory")||i.message.includes("WebAssembly.Memory.grow")||i.message.includes("Out of memory"))?
new un("Could not allocate required memory for Argon2"):i}}},Qa=class{constructor(e,r=L){this.algorithm=l.hash.sha256,this.type=l.read(l.s2k,e),this.c=r.s2kIterationCountByte,this.salt=null}generateSalt(){
switch(this.type){case"salted":case"iterated":this.salt=st(8)}}getCount(){return 16+(this.c&15)<<(this.c>>4)+6}read(e){let r=0;switch(this.algorithm=e[r++],this.type){case"simple":break;case"salted":this.
salt=e.subarray(r,r+8),r+=8;break;case"iterated":this.salt=e.subarray(r,r+8),r+=8,this.c=e[r++];break;case"gnu":if(p.uint8ArrayToString(e.subarray(r,r+3))==="GNU")if(r+=3,1e3+e[r++]===1001)this.type="\
gnu-dummy";else throw new J("Unknown s2k gnu protection mode.");else throw new J("Unknown s2k type.");break;default:throw new J("Unknown s2k type.")}return r}write(){if(this.type==="gnu-dummy")return new Uint8Array(
[101,0,...p.stringToUint8Array("GNU"),1]);let e=[new Uint8Array([l.write(l.s2k,this.type),this.algorithm])];switch(this.type){case"simple":break;case"salted":e.push(this.salt);break;case"iterated":e.push(
this.salt),e.push(new Uint8Array([this.c]));break;case"gnu":throw new Error("GNU s2k type not supported.");default:throw new Error("Unknown s2k type.")}return p.concatUint8Array(e)}async produceKey(e,r,n){
e=p.encodeUTF8(e);let s=[],i=0,a=0;for(;i<r;){let o;switch(this.type){case"simple":o=p.concatUint8Array([new Uint8Array(a),e]);break;case"salted":o=p.concatUint8Array([new Uint8Array(a),this.salt,e]);
break;case"iterated":{let u=p.concatUint8Array([this.salt,e]),h=u.length,f=Math.max(this.getCount(),h);o=new Uint8Array(a+f),o.set(u,a);for(let d=a+h;d<f;d+=h,h*=2)o.copyWithin(d,a,d);break}case"gnu":
throw new Error("GNU s2k type not supported.");default:throw new Error("Unknown s2k type.")}let c=await Dr(this.algorithm,o);s.push(c),i+=c.length,a++}return p.concatUint8Array(s).subarray(0,r)}},Ly=new Set(
[l.s2k.argon2,l.s2k.iterated]);function Au(t,e=L){switch(t){case l.s2k.argon2:return new Oa(e);case l.s2k.iterated:case l.s2k.gnu:case l.s2k.salted:case l.s2k.simple:return new Qa(t,e);default:throw new J(
"Unsupported S2K type")}}function My(t){let{s2kType:e}=t;if(!Ly.has(e))throw new Error("The provided `config.s2kType` value is not allowed");return Au(e,t)}var he=Uint8Array,qe=Uint16Array,wo=Int32Array,
mi=new he([0,0,0,0,0,0,0,0,1,1,1,1,2,2,2,2,3,3,3,3,4,4,4,4,5,5,5,5,0,0,0,0]),Ai=new he([0,0,0,0,1,1,2,2,3,3,4,4,5,5,6,6,7,7,8,8,9,9,10,10,11,11,12,12,13,13,0,0]),Ha=new he([16,17,18,0,8,7,9,6,10,5,11,
4,12,3,13,2,14,1,15]),bu=function(t,e){for(var r=new qe(31),n=0;n<31;++n)r[n]=e+=1<<t[n-1];for(var s=new wo(r[30]),n=1;n<30;++n)for(var i=r[n];i<r[n+1];++i)s[i]=i-r[n]<<5|n;return{b:r,r:s}},Eu=bu(mi,2),
ku=Eu.b,za=Eu.r;ku[28]=258,za[258]=28;var xu=bu(Ai,0),Ry=xu.b,xl=xu.r,ja=new qe(32768);for(V=0;V<32768;++V)Ut=(V&43690)>>1|(V&21845)<<1,Ut=(Ut&52428)>>2|(Ut&13107)<<2,Ut=(Ut&61680)>>4|(Ut&3855)<<4,ja[V]=
((Ut&65280)>>8|(Ut&255)<<8)>>1;var Ut,V,St=(function(t,e,r){for(var n=t.length,s=0,i=new qe(e);s<n;++s)t[s]&&++i[t[s]-1];var a=new qe(e);for(s=1;s<e;++s)a[s]=a[s-1]+i[s-1]<<1;var o;if(r){o=new qe(1<<e);
var c=15-e;for(s=0;s<n;++s)if(t[s])for(var u=s<<4|t[s],h=e-t[s],f=a[t[s]-1]++<<h,d=f|(1<<h)-1;f<=d;++f)o[ja[f]>>c]=u}else for(o=new qe(n),s=0;s<n;++s)t[s]&&(o[s]=ja[a[t[s]-1]++]>>15-t[s]);return o}),or=new he(
288);for(V=0;V<144;++V)or[V]=8;var V;for(V=144;V<256;++V)or[V]=9;var V;for(V=256;V<280;++V)or[V]=7;var V;for(V=280;V<288;++V)or[V]=8;var V,zn=new he(32);for(V=0;V<32;++V)zn[V]=5;var V,_y=St(or,9,0),Fy=St(
or,9,1),Ny=St(zn,5,0),Oy=St(zn,5,1),ka=function(t){for(var e=t[0],r=1;r<t.length;++r)t[r]>e&&(e=t[r]);return e},lt=function(t,e,r){var n=e/8|0;return(t[n]|t[n+1]<<8)>>(e&7)&r},xa=function(t,e){var r=e/
8|0;return(t[r]|t[r+1]<<8|t[r+2]<<16)>>(e&7)},mo=function(t){return(t+7)/8|0},Nn=function(t,e,r){return(e==null||e<0)&&(e=0),(r==null||r>t.length)&&(r=t.length),new he(t.subarray(e,r))},Qy=["unexpecte\
d EOF","invalid block type","invalid length/literal","invalid distance","stream finished","no stream handler",,"no callback","invalid UTF-8 data","extra field too long","date not in range 1980-2099","\
filename too long","stream finishing","invalid zip data"],Se=function(t,e,r){var n=new Error(e||Qy[t]);if(n.code=t,Error.captureStackTrace&&Error.captureStackTrace(n,Se),!r)throw n;return n},Hy=function(t,e,r,n){
var s=t.length,i=0;if(!s||e.f&&!e.l)return r||new he(0);var a=!r,o=a||e.i!=2,c=e.i;a&&(r=new he(s*3));var u=function(dr){var yr=r.length;if(dr>yr){var Yt=new he(Math.max(yr*2,dr));Yt.set(r),r=Yt}},h=e.
f||0,f=e.p||0,d=e.b||0,g=e.l,w=e.d,b=e.m,A=e.n,k=s*8;do{if(!g){h=lt(t,f,1);var E=lt(t,f+1,3);if(f+=3,E)if(E==1)g=Fy,w=Oy,b=9,A=5;else if(E==2){var U=lt(t,f,31)+257,M=lt(t,f+10,15)+4,D=U+lt(t,f+5,31)+1;
f+=14;for(var T=new he(D),P=new he(19),I=0;I<M;++I)P[Ha[I]]=lt(t,f+I*3,7);f+=M*3;for(var F=ka(P),N=(1<<F)-1,W=St(P,F,1),I=0;I<D;){var z=W[lt(t,f,N)];f+=z&15;var S=z>>4;if(S<16)T[I++]=S;else{var Q=0,G=0;
for(S==16?(G=3+lt(t,f,3),f+=2,Q=T[I-1]):S==17?(G=3+lt(t,f,7),f+=3):S==18&&(G=11+lt(t,f,127),f+=7);G--;)T[I++]=Q}}var pe=T.subarray(0,U),de=T.subarray(U);b=ka(pe),A=ka(de),g=St(pe,b,1),w=St(de,A,1)}else
Se(1);else{var S=mo(f)+4,v=t[S-4]|t[S-3]<<8,K=S+v;if(K>s){c&&Se(0);break}o&&u(d+v),r.set(t.subarray(S,K),d),e.b=d+=v,e.p=f=K*8,e.f=h;continue}if(f>k){c&&Se(0);break}}o&&u(d+131072);for(var It=(1<<b)-1,
De=(1<<A)-1,Ve=f;;Ve=f){var Q=g[xa(t,f)&It],Ne=Q>>4;if(f+=Q&15,f>k){c&&Se(0);break}if(Q||Se(2),Ne<256)r[d++]=Ne;else if(Ne==256){Ve=f,g=null;break}else{var Oe=Ne-254;if(Ne>264){var I=Ne-257,re=mi[I];Oe=
lt(t,f,(1<<re)-1)+ku[I],f+=re}var Ze=w[xa(t,f)&De],q=Ze>>4;Ze||Se(3),f+=Ze&15;var de=Ry[q];if(q>3){var re=Ai[q];de+=xa(t,f)&(1<<re)-1,f+=re}if(f>k){c&&Se(0);break}o&&u(d+131072);var Vt=d+Oe;if(d<de){var Qr=i-
de,Hr=Math.min(de,Vt);for(Qr+d<0&&Se(3);d<Hr;++d)r[d]=n[Qr+d]}for(;d<Vt;++d)r[d]=r[d-de]}}e.l=g,e.p=Ve,e.b=d,e.f=h,g&&(h=1,e.m=b,e.d=w,e.n=A)}while(!h);return d!=r.length&&a?Nn(r,0,d):r.subarray(0,d)},
Lt=function(t,e,r){r<<=e&7;var n=e/8|0;t[n]|=r,t[n+1]|=r>>8},Tn=function(t,e,r){r<<=e&7;var n=e/8|0;t[n]|=r,t[n+1]|=r>>8,t[n+2]|=r>>16},Sa=function(t,e){for(var r=[],n=0;n<t.length;++n)t[n]&&r.push({s:n,
f:t[n]});var s=r.length,i=r.slice();if(!s)return{t:ni,l:0};if(s==1){var a=new he(r[0].s+1);return a[r[0].s]=1,{t:a,l:1}}r.sort(function(K,U){return K.f-U.f}),r.push({s:-1,f:25001});var o=r[0],c=r[1],u=0,
h=1,f=2;for(r[0]={s:-1,f:o.f+c.f,l:o,r:c};h!=s-1;)o=r[r[u].f<r[f].f?u++:f++],c=r[u!=h&&r[u].f<r[f].f?u++:f++],r[h++]={s:-1,f:o.f+c.f,l:o,r:c};for(var d=i[0].s,n=1;n<s;++n)i[n].s>d&&(d=i[n].s);var g=new qe(
d+1),w=Ga(r[h-1],g,0);if(w>e){var n=0,b=0,A=w-e,k=1<<A;for(i.sort(function(U,M){return g[M.s]-g[U.s]||U.f-M.f});n<s;++n){var E=i[n].s;if(g[E]>e)b+=k-(1<<w-g[E]),g[E]=e;else break}for(b>>=A;b>0;){var S=i[n].
s;g[S]<e?b-=1<<e-g[S]++-1:++n}for(;n>=0&&b;--n){var v=i[n].s;g[v]==e&&(--g[v],++b)}w=e}return{t:new he(g),l:w}},Ga=function(t,e,r){return t.s==-1?Math.max(Ga(t.l,e,r+1),Ga(t.r,e,r+1)):e[t.s]=r},Sl=function(t){
for(var e=t.length;e&&!t[--e];);for(var r=new qe(++e),n=0,s=t[0],i=1,a=function(c){r[n++]=c},o=1;o<=e;++o)if(t[o]==s&&o!=e)++i;else{if(!s&&i>2){for(;i>138;i-=138)a(32754);i>2&&(a(i>10?i-11<<5|28690:i-
3<<5|12305),i=0)}else if(i>3){for(a(s),--i;i>6;i-=6)a(8304);i>2&&(a(i-3<<5|8208),i=0)}for(;i--;)a(s);i=1,s=t[o]}return{c:r.subarray(0,n),n:e}},Un=function(t,e){for(var r=0,n=0;n<e.length;++n)r+=t[n]*e[n];
return r},Ao=function(t,e,r){var n=r.length,s=mo(e+2);t[s]=n&255,t[s+1]=n>>8,t[s+2]=t[s]^255,t[s+3]=t[s+1]^255;for(var i=0;i<n;++i)t[s+i+4]=r[i];return(s+4+n)*8},vl=function(t,e,r,n,s,i,a,o,c,u,h){Lt(
e,h++,r),++s[256];for(var f=Sa(s,15),d=f.t,g=f.l,w=Sa(i,15),b=w.t,A=w.l,k=Sl(d),E=k.c,S=k.n,v=Sl(b),K=v.c,U=v.n,M=new qe(19),D=0;D<E.length;++D)++M[E[D]&31];for(var D=0;D<K.length;++D)++M[K[D]&31];for(var T=Sa(
M,7),P=T.t,I=T.l,F=19;F>4&&!P[Ha[F-1]];--F);var N=u+5<<3,W=Un(s,or)+Un(i,zn)+a,z=Un(s,d)+Un(i,b)+a+14+3*F+Un(M,P)+2*M[16]+3*M[17]+7*M[18];if(c>=0&&N<=W&&N<=z)return Ao(e,h,t.subarray(c,c+u));var Q,G,pe,
de;if(Lt(e,h,1+(z<W)),h+=2,z<W){Q=St(d,g,0),G=d,pe=St(b,A,0),de=b;var It=St(P,I,0);Lt(e,h,S-257),Lt(e,h+5,U-1),Lt(e,h+10,F-4),h+=14;for(var D=0;D<F;++D)Lt(e,h+3*D,P[Ha[D]]);h+=3*F;for(var De=[E,K],Ve=0;Ve<
2;++Ve)for(var Ne=De[Ve],D=0;D<Ne.length;++D){var Oe=Ne[D]&31;Lt(e,h,It[Oe]),h+=P[Oe],Oe>15&&(Lt(e,h,Ne[D]>>5&127),h+=Ne[D]>>12)}}else Q=_y,G=or,pe=Ny,de=zn;for(var D=0;D<o;++D){var re=n[D];if(re>255){
var Oe=re>>18&31;Tn(e,h,Q[Oe+257]),h+=G[Oe+257],Oe>7&&(Lt(e,h,re>>23&31),h+=mi[Oe]);var Ze=re&31;Tn(e,h,pe[Ze]),h+=de[Ze],Ze>3&&(Tn(e,h,re>>5&8191),h+=Ai[Ze])}else Tn(e,h,Q[re]),h+=G[re]}return Tn(e,h,
Q[256]),h+G[256]},zy=new wo([65540,131080,131088,131104,262176,1048704,1048832,2114560,2117632]),ni=new he(0),jy=function(t,e,r,n,s,i){var a=i.z||t.length,o=new he(n+a+5*(1+Math.ceil(a/7e3))+s),c=o.subarray(
n,o.length-s),u=i.l,h=(i.r||0)&7;if(e){h&&(c[0]=i.r>>3);for(var f=zy[e-1],d=f>>13,g=f&8191,w=(1<<r)-1,b=i.p||new qe(32768),A=i.h||new qe(w+1),k=Math.ceil(r/3),E=2*k,S=function(kn){return(t[kn]^t[kn+1]<<
k^t[kn+2]<<E)&w},v=new wo(25e3),K=new qe(288),U=new qe(32),M=0,D=0,T=i.i||0,P=0,I=i.w||0,F=0;T+2<a;++T){var N=S(T),W=T&32767,z=A[N];if(b[W]=z,A[N]=W,I<=T){var Q=a-T;if((M>7e3||P>24576)&&(Q>423||!u)){h=
vl(t,c,0,v,K,U,D,P,F,T-F,h),P=M=D=0,F=T;for(var G=0;G<286;++G)K[G]=0;for(var G=0;G<30;++G)U[G]=0}var pe=2,de=0,It=g,De=W-z&32767;if(Q>2&&N==S(T-De))for(var Ve=Math.min(d,Q)-1,Ne=Math.min(32767,T),Oe=Math.
min(258,Q);De<=Ne&&--It&&W!=z;){if(t[T+pe]==t[T+pe-De]){for(var re=0;re<Oe&&t[T+re]==t[T+re-De];++re);if(re>pe){if(pe=re,de=De,re>Ve)break;for(var Ze=Math.min(De,re-2),q=0,G=0;G<Ze;++G){var Vt=T-De+G&
32767,Qr=b[Vt],Hr=Vt-Qr&32767;Hr>q&&(q=Hr,z=Vt)}}}W=z,z=b[W],De+=W-z&32767}if(de){v[P++]=268435456|za[pe]<<18|xl[de];var dr=za[pe]&31,yr=xl[de]&31;D+=mi[dr]+Ai[yr],++K[257+dr],++U[yr],I=T+pe,++M}else v[P++]=
t[T],++K[t[T]]}}for(T=Math.max(T,I);T<a;++T)v[P++]=t[T],++K[t[T]];h=vl(t,c,u,v,K,U,D,P,F,T-F,h),u||(i.r=h&7|c[h/8|0]<<3,h-=7,i.h=A,i.p=b,i.i=T,i.w=I)}else{for(var T=i.w||0;T<a+u;T+=65535){var Yt=T+65535;
Yt>=a&&(c[h/8|0]=u,Yt=a),h=Ao(c,h+1,t.subarray(T,Yt))}i.i=a}return Nn(o,0,n+mo(h)+s)},Su=function(){var t=1,e=0;return{p:function(r){for(var n=t,s=e,i=r.length|0,a=0;a!=i;){for(var o=Math.min(a+2655,i);a<
o;++a)s+=n+=r[a];n=(n&65535)+15*(n>>16),s=(s&65535)+15*(s>>16)}t=n,e=s},d:function(){return t%=65521,e%=65521,(t&255)<<24|(t&65280)<<8|(e&255)<<8|e>>8}}},vu=function(t,e,r,n,s){if(!s&&(s={l:1},e.dictionary)){
var i=e.dictionary.subarray(-32768),a=new he(i.length+t.length);a.set(i),a.set(t,i.length),t=a,s.w=i.length}return jy(t,e.level==null?6:e.level,e.mem==null?s.l?Math.ceil(Math.max(8,Math.min(13,Math.log(
t.length)))*1.5):20:12+e.mem,r,n,s)},Cu=function(t,e,r){for(;r;++e)t[e]=r,r>>>=8},Gy=function(t,e){var r=e.level,n=r==0?0:r<6?1:r==9?3:2;if(t[0]=120,t[1]=n<<6|(e.dictionary&&32),t[1]|=31-(t[0]<<8|t[1])%
31,e.dictionary){var s=Su();s.p(e.dictionary),Cu(t,2,s.d())}},Wy=function(t,e){return((t[0]&15)!=8||t[0]>>4>7||(t[0]<<8|t[1])%31)&&Se(6,"invalid zlib data"),(t[1]>>5&1)==+!e&&Se(6,"invalid zlib data: "+
(t[1]&32?"need":"unexpected")+" dictionary"),(t[1]>>3&4)+2},Fs=(function(){function t(e,r){if(typeof e=="function"&&(r=e,e={}),this.ondata=r,this.o=e||{},this.s={l:0,i:32768,w:32768,z:32768},this.b=new he(
98304),this.o.dictionary){var n=this.o.dictionary.subarray(-32768);this.b.set(n,32768-n.length),this.s.i=32768-n.length}}return t.prototype.p=function(e,r){this.ondata(vu(e,this.o,0,0,this.s),r)},t.prototype.
push=function(e,r){this.ondata||Se(5),this.s.l&&Se(4);var n=e.length+this.s.z;if(n>this.b.length){if(n>2*this.b.length-32768){var s=new he(n&-32768);s.set(this.b.subarray(0,this.s.z)),this.b=s}var i=this.
b.length-this.s.z;this.b.set(e.subarray(0,i),this.s.z),this.s.z=this.b.length,this.p(this.b,!1),this.b.set(this.b.subarray(-32768)),this.b.set(e.subarray(i),32768),this.s.z=e.length-i+32768,this.s.i=32766,
this.s.w=32768}else this.b.set(e,this.s.z),this.s.z+=e.length;this.s.l=r&1,(this.s.z>this.s.w+8191||r)&&(this.p(this.b,r||!1),this.s.w=this.s.i,this.s.i-=2),r&&(this.s=this.o={},this.b=ni)},t.prototype.
flush=function(e){if(this.ondata||Se(5),this.s.l&&Se(4),this.p(this.b,!1),this.s.w=this.s.i,this.s.i-=2,e){var r=new he(6);r[0]=this.s.r>>3;var n=Ao(r,this.s.r,ni);this.s.r=0,this.ondata(r.subarray(0,
n>>3),!1)}},t})(),Ns=(function(){function t(e,r){typeof e=="function"&&(r=e,e={}),this.ondata=r;var n=e&&e.dictionary&&e.dictionary.subarray(-32768);this.s={i:0,b:n?n.length:0},this.o=new he(32768),this.
p=new he(0),n&&this.o.set(n)}return t.prototype.e=function(e){if(this.ondata||Se(5),this.d&&Se(4),!this.p.length)this.p=e;else if(e.length){var r=new he(this.p.length+e.length);r.set(this.p),r.set(e,this.
p.length),this.p=r}},t.prototype.c=function(e){this.s.i=+(this.d=e||!1);var r=this.s.b,n=Hy(this.p,this.s,this.o);this.ondata(Nn(n,r,this.s.b),this.d),this.o=Nn(n,this.s.b-32768),this.s.b=this.o.length,
this.p=Nn(this.p,this.s.p/8|0),this.s.p&=7},t.prototype.push=function(e,r){this.e(e),this.c(r)},t})(),Vy=(function(){function t(e,r){this.c=Su(),this.v=1,Fs.call(this,e,r)}return t.prototype.push=function(e,r){
this.c.p(e),Fs.prototype.push.call(this,e,r)},t.prototype.p=function(e,r){var n=vu(e,this.o,this.v&&(this.o.dictionary?6:2),r&&4,this.s);this.v&&(Gy(n,this.o),this.v=0),r&&Cu(n,n.length-4,this.c.d()),
this.ondata(n,r)},t.prototype.flush=function(e){Fs.prototype.flush.call(this,e)},t})(),Yy=(function(){function t(e,r){Ns.call(this,e,r),this.v=e&&e.dictionary?2:1}return t.prototype.push=function(e,r){
if(Ns.prototype.e.call(this,e),this.v){if(this.p.length<6&&!r)return;this.p=this.p.subarray(Wy(this.p,this.v-1)),this.v=0}r&&(this.p.length<4&&Se(6,"invalid zlib data"),this.p=this.p.subarray(0,-4)),Ns.
prototype.c.call(this,r)},t})(),qy=typeof TextDecoder<"u"&&new TextDecoder,Jy=0;try{qy.decode(ni,{stream:!0}),Jy=1}catch{}var Tr=class{static get tag(){return l.packet.literalData}constructor(e=new Date){
this.format=l.literal.utf8,this.date=p.normalizeDate(e),this.text=null,this.data=null,this.filename=""}setText(e,r=l.literal.utf8){this.format=r,this.text=e,this.data=null}getText(e=!1){return(this.text===
null||p.isStream(this.text))&&(this.text=p.decodeUTF8(p.nativeEOL(this.getBytes(e)))),this.text}setBytes(e,r){this.format=r,this.data=e,this.text=null}getBytes(e=!1){return this.data===null&&(this.data=
p.canonicalizeEOL(p.encodeUTF8(this.text))),e?_n(this.data):this.data}setFilename(e){this.filename=e}getFilename(){return this.filename}async read(e){await fi(e,async r=>{let n=await r.readByte(),s=await r.
readByte();this.filename=p.decodeUTF8(await r.readBytes(s)),this.date=p.readDate(await r.readBytes(4));let i=r.remainder();ie(i)&&(i=await ge(i)),this.setBytes(i,n)})}writeHeader(){let e=p.encodeUTF8(
this.filename),r=new Uint8Array([e.length]),n=new Uint8Array([this.format]),s=p.writeDate(this.date);return p.concatUint8Array([n,r,e,s])}write(){let e=this.writeHeader(),r=this.getBytes();return p.concat(
[e,r])}},Nt=class t{constructor(){this.bytes=""}read(e){return this.bytes=p.uint8ArrayToString(e.subarray(0,8)),this.bytes.length}write(){return p.stringToUint8Array(this.bytes)}toHex(){return p.uint8ArrayToHex(
p.stringToUint8Array(this.bytes))}equals(e,r=!1){return r&&(e.isWildcard()||this.isWildcard())||this.bytes===e.bytes}isNull(){return this.bytes===""}isWildcard(){return/^0+$/.test(this.toHex())}static mapToHex(e){
return e.toHex()}static fromID(e){let r=new t;return r.read(p.hexToUint8Array(e)),r}static wildcard(){let e=new t;return e.read(new Uint8Array(8)),e}},Ln=Symbol("verified"),Cl="salt@notations.openpgpj\
s.org",$y=new Set([l.signatureSubpacket.issuerKeyID,l.signatureSubpacket.issuerFingerprint,l.signatureSubpacket.embeddedSignature]),_e=class t{static get tag(){return l.packet.signature}constructor(){
this.version=null,this.signatureType=null,this.hashAlgorithm=null,this.publicKeyAlgorithm=null,this.signatureData=null,this.unhashedSubpackets=[],this.unknownSubpackets=[],this.signedHashValue=null,this.
salt=null,this.created=null,this.signatureExpirationTime=null,this.signatureNeverExpires=!0,this.exportable=null,this.trustLevel=null,this.trustAmount=null,this.regularExpression=null,this.revocable=null,
this.keyExpirationTime=null,this.keyNeverExpires=null,this.preferredSymmetricAlgorithms=null,this.revocationKeyClass=null,this.revocationKeyAlgorithm=null,this.revocationKeyFingerprint=null,this.issuerKeyID=
new Nt,this.rawNotations=[],this.notations={},this.preferredHashAlgorithms=null,this.preferredCompressionAlgorithms=null,this.keyServerPreferences=null,this.preferredKeyServer=null,this.isPrimaryUserID=
null,this.policyURI=null,this.keyFlags=null,this.signersUserID=null,this.reasonForRevocationFlag=null,this.reasonForRevocationString=null,this.features=null,this.signatureTargetPublicKeyAlgorithm=null,
this.signatureTargetHashAlgorithm=null,this.signatureTargetHash=null,this.embeddedSignature=null,this.issuerKeyVersion=null,this.issuerFingerprint=null,this.preferredAEADAlgorithms=null,this.preferredCipherSuites=
null,this.revoked=null,this[Ln]=null}read(e,r=L){let n=0;if(this.version=e[n++],this.version===5&&!r.enableParsingV5Entities)throw new J("Support for v5 entities is disabled; turn on `config.enablePar\
singV5Entities` if needed");if(this.version!==4&&this.version!==5&&this.version!==6)throw new J(`Version ${this.version} of the signature packet is unsupported.`);if(this.signatureType=e[n++],this.publicKeyAlgorithm=
e[n++],this.hashAlgorithm=e[n++],n+=this.readSubPackets(e.subarray(n,e.length),!0),!this.created)throw new Error("Missing signature creation time subpacket.");if(this.signatureData=e.subarray(0,n),n+=
this.readSubPackets(e.subarray(n,e.length),!1),this.signedHashValue=e.subarray(n,n+2),n+=2,this.version===6){let o=e[n++];this.salt=e.subarray(n,n+o),n+=o}let s=e.subarray(n,e.length),{read:i,signatureParams:a}=Iy(
this.publicKeyAlgorithm,s);if(i<s.length)throw new Error("Error reading MPIs");this.params=a}writeParams(){return this.params instanceof Promise?Lr(async()=>Zs(this.publicKeyAlgorithm,await this.params)):
Zs(this.publicKeyAlgorithm,this.params)}write(){let e=[];return e.push(this.signatureData),e.push(this.writeUnhashedSubPackets()),e.push(this.signedHashValue),this.version===6&&(e.push(new Uint8Array(
[this.salt.length])),e.push(this.salt)),e.push(this.writeParams()),p.concat(e)}async sign(e,r,n=new Date,s=!1,i){this.version=e.version,this.created=p.normalizeDate(n),this.issuerKeyVersion=e.version,
this.issuerFingerprint=e.getFingerprintBytes(),this.issuerKeyID=e.getKeyID();let a=[new Uint8Array([this.version,this.signatureType,this.publicKeyAlgorithm,this.hashAlgorithm])];if(this.version===6){let h=va(
this.hashAlgorithm);if(this.salt===null)this.salt=st(h);else if(h!==this.salt.length)throw new Error("Provided salt does not have the required length")}else if(i.nonDeterministicSignaturesViaNotation)
if(this.rawNotations.filter(({name:f})=>f===Cl).length===0){let f=st(va(this.hashAlgorithm));this.rawNotations.push({name:Cl,value:f,humanReadable:!1,critical:!1})}else throw new Error("Unexpected exi\
sting salt notation");a.push(this.writeHashedSubPackets()),this.unhashedSubpackets=[],this.signatureData=p.concat(a);let o=this.toHash(this.signatureType,r,s),c=await this.hash(this.signatureType,r,o,
s);this.signedHashValue=Te(Br(c),0,2);let u=async()=>Dy(this.publicKeyAlgorithm,this.hashAlgorithm,e.publicParams,e.privateParams,o,await ge(c));p.isStream(c)?this.params=u():(this.params=await u(),this[Ln]=
!0)}writeHashedSubPackets(){let e=l.signatureSubpacket,r=[],n;if(this.created===null)throw new Error("Missing signature creation time");r.push($(e.signatureCreationTime,!0,p.writeDate(this.created))),
this.signatureExpirationTime!==null&&r.push($(e.signatureExpirationTime,!0,p.writeNumber(this.signatureExpirationTime,4))),this.exportable!==null&&r.push($(e.exportableCertification,!0,new Uint8Array(
[this.exportable?1:0]))),this.trustLevel!==null&&(n=new Uint8Array([this.trustLevel,this.trustAmount]),r.push($(e.trustSignature,!0,n))),this.regularExpression!==null&&r.push($(e.regularExpression,!0,
this.regularExpression)),this.revocable!==null&&r.push($(e.revocable,!0,new Uint8Array([this.revocable?1:0]))),this.keyExpirationTime!==null&&r.push($(e.keyExpirationTime,!0,p.writeNumber(this.keyExpirationTime,
4))),this.preferredSymmetricAlgorithms!==null&&(n=p.stringToUint8Array(p.uint8ArrayToString(this.preferredSymmetricAlgorithms)),r.push($(e.preferredSymmetricAlgorithms,!1,n))),this.revocationKeyClass!==
null&&(n=new Uint8Array([this.revocationKeyClass,this.revocationKeyAlgorithm]),n=p.concat([n,this.revocationKeyFingerprint]),r.push($(e.revocationKey,!1,n))),!this.issuerKeyID.isNull()&&this.issuerKeyVersion<
5&&r.push($(e.issuerKeyID,!1,this.issuerKeyID.write())),this.rawNotations.forEach(({name:a,value:o,humanReadable:c,critical:u})=>{n=[new Uint8Array([c?128:0,0,0,0])];let h=p.encodeUTF8(a);n.push(p.writeNumber(
h.length,2)),n.push(p.writeNumber(o.length,2)),n.push(h),n.push(o),n=p.concat(n),r.push($(e.notationData,u,n))}),this.preferredHashAlgorithms!==null&&(n=p.stringToUint8Array(p.uint8ArrayToString(this.
preferredHashAlgorithms)),r.push($(e.preferredHashAlgorithms,!1,n))),this.preferredCompressionAlgorithms!==null&&(n=p.stringToUint8Array(p.uint8ArrayToString(this.preferredCompressionAlgorithms)),r.push(
$(e.preferredCompressionAlgorithms,!1,n))),this.keyServerPreferences!==null&&(n=p.stringToUint8Array(p.uint8ArrayToString(this.keyServerPreferences)),r.push($(e.keyServerPreferences,!1,n))),this.preferredKeyServer!==
null&&r.push($(e.preferredKeyServer,!1,p.encodeUTF8(this.preferredKeyServer))),this.isPrimaryUserID!==null&&r.push($(e.primaryUserID,!1,new Uint8Array([this.isPrimaryUserID?1:0]))),this.policyURI!==null&&
r.push($(e.policyURI,!1,p.encodeUTF8(this.policyURI))),this.keyFlags!==null&&(n=p.stringToUint8Array(p.uint8ArrayToString(this.keyFlags)),r.push($(e.keyFlags,!0,n))),this.signersUserID!==null&&r.push(
$(e.signersUserID,!1,p.encodeUTF8(this.signersUserID))),this.reasonForRevocationFlag!==null&&(n=p.stringToUint8Array(String.fromCharCode(this.reasonForRevocationFlag)+this.reasonForRevocationString),r.
push($(e.reasonForRevocation,!0,n))),this.features!==null&&(n=p.stringToUint8Array(p.uint8ArrayToString(this.features)),r.push($(e.features,!1,n))),this.signatureTargetPublicKeyAlgorithm!==null&&(n=[new Uint8Array(
[this.signatureTargetPublicKeyAlgorithm,this.signatureTargetHashAlgorithm])],n.push(p.stringToUint8Array(this.signatureTargetHash)),n=p.concat(n),r.push($(e.signatureTarget,!0,n))),this.embeddedSignature!==
null&&r.push($(e.embeddedSignature,!0,this.embeddedSignature.write())),this.issuerFingerprint!==null&&(n=[new Uint8Array([this.issuerKeyVersion]),this.issuerFingerprint],n=p.concat(n),r.push($(e.issuerFingerprint,
this.version>=5,n))),this.preferredAEADAlgorithms!==null&&(n=p.stringToUint8Array(p.uint8ArrayToString(this.preferredAEADAlgorithms)),r.push($(e.preferredAEADAlgorithms,!1,n))),this.preferredCipherSuites!==
null&&(n=new Uint8Array([].concat(...this.preferredCipherSuites)),r.push($(e.preferredCipherSuites,!1,n)));let s=p.concat(r),i=p.writeNumber(s.length,this.version===6?4:2);return p.concat([i,s])}writeUnhashedSubPackets(){
let e=this.unhashedSubpackets.map(({type:s,critical:i,body:a})=>$(s,i,a)),r=p.concat(e),n=p.writeNumber(r.length,this.version===6?4:2);return p.concat([n,r])}readSubPacket(e,r=!0){let n=0,s=!!(e[n]&128),
i=e[n]&127;if(n++,!(!r&&(this.unhashedSubpackets.push({type:i,critical:s,body:e.subarray(n,e.length)}),!$y.has(i))))switch(i){case l.signatureSubpacket.signatureCreationTime:this.created=p.readDate(e.
subarray(n,e.length));break;case l.signatureSubpacket.signatureExpirationTime:{let a=p.readNumber(e.subarray(n,e.length));this.signatureNeverExpires=a===0,this.signatureExpirationTime=a;break}case l.signatureSubpacket.
exportableCertification:this.exportable=e[n++]===1;break;case l.signatureSubpacket.trustSignature:this.trustLevel=e[n++],this.trustAmount=e[n++];break;case l.signatureSubpacket.regularExpression:this.
regularExpression=e[n];break;case l.signatureSubpacket.revocable:this.revocable=e[n++]===1;break;case l.signatureSubpacket.keyExpirationTime:{let a=p.readNumber(e.subarray(n,e.length));this.keyExpirationTime=
a,this.keyNeverExpires=a===0;break}case l.signatureSubpacket.preferredSymmetricAlgorithms:this.preferredSymmetricAlgorithms=[...e.subarray(n,e.length)];break;case l.signatureSubpacket.revocationKey:this.
revocationKeyClass=e[n++],this.revocationKeyAlgorithm=e[n++],this.revocationKeyFingerprint=e.subarray(n,n+20);break;case l.signatureSubpacket.issuerKeyID:if(this.version===4)this.issuerKeyID.read(e.subarray(
n,e.length));else if(r)throw new Error("Unexpected Issuer Key ID subpacket");break;case l.signatureSubpacket.notationData:{let a=!!(e[n]&128);n+=4;let o=p.readNumber(e.subarray(n,n+2));n+=2;let c=p.readNumber(
e.subarray(n,n+2));n+=2;let u=p.decodeUTF8(e.subarray(n,n+o)),h=e.subarray(n+o,n+o+c);this.rawNotations.push({name:u,humanReadable:a,value:h,critical:s}),a&&(this.notations[u]=p.decodeUTF8(h));break}case l.
signatureSubpacket.preferredHashAlgorithms:this.preferredHashAlgorithms=[...e.subarray(n,e.length)];break;case l.signatureSubpacket.preferredCompressionAlgorithms:this.preferredCompressionAlgorithms=[
...e.subarray(n,e.length)];break;case l.signatureSubpacket.keyServerPreferences:this.keyServerPreferences=[...e.subarray(n,e.length)];break;case l.signatureSubpacket.preferredKeyServer:this.preferredKeyServer=
p.decodeUTF8(e.subarray(n,e.length));break;case l.signatureSubpacket.primaryUserID:this.isPrimaryUserID=e[n++]!==0;break;case l.signatureSubpacket.policyURI:this.policyURI=p.decodeUTF8(e.subarray(n,e.
length));break;case l.signatureSubpacket.keyFlags:this.keyFlags=[...e.subarray(n,e.length)];break;case l.signatureSubpacket.signersUserID:this.signersUserID=p.decodeUTF8(e.subarray(n,e.length));break;case l.
signatureSubpacket.reasonForRevocation:this.reasonForRevocationFlag=e[n++],this.reasonForRevocationString=p.decodeUTF8(e.subarray(n,e.length));break;case l.signatureSubpacket.features:this.features=[...e.
subarray(n,e.length)];break;case l.signatureSubpacket.signatureTarget:{this.signatureTargetPublicKeyAlgorithm=e[n++],this.signatureTargetHashAlgorithm=e[n++];let a=ke(this.signatureTargetHashAlgorithm);
this.signatureTargetHash=p.uint8ArrayToString(e.subarray(n,n+a));break}case l.signatureSubpacket.embeddedSignature:this.embeddedSignature=new t,this.embeddedSignature.read(e.subarray(n,e.length));break;case l.
signatureSubpacket.issuerFingerprint:this.issuerKeyVersion=e[n++],this.issuerFingerprint=e.subarray(n,e.length),this.issuerKeyVersion>=5?this.issuerKeyID.read(this.issuerFingerprint):this.issuerKeyID.
read(this.issuerFingerprint.subarray(-8));break;case l.signatureSubpacket.preferredAEADAlgorithms:this.preferredAEADAlgorithms=[...e.subarray(n,e.length)];break;case l.signatureSubpacket.preferredCipherSuites:
this.preferredCipherSuites=[];for(let a=n;a<e.length;a+=2)this.preferredCipherSuites.push([e[a],e[a+1]]);break;default:this.unknownSubpackets.push({type:i,critical:s,body:e.subarray(n,e.length)});break}}readSubPackets(e,r=!0,n){
let s=this.version===6?4:2,i=p.readNumber(e.subarray(0,s)),a=s;for(;a<s+i;){let o=od(e.subarray(a,e.length));a+=o.offset,this.readSubPacket(e.subarray(a,a+o.len),r,n),a+=o.len}return a}toSign(e,r){let n=l.
signature;switch(e){case n.binary:return r.text!==null?p.encodeUTF8(r.getText(!0)):r.getBytes(!0);case n.text:{let s=r.getBytes(!0);return p.canonicalizeEOL(s)}case n.standalone:return new Uint8Array(
0);case n.certGeneric:case n.certPersona:case n.certCasual:case n.certPositive:case n.certRevocation:{let s,i;if(r.userID)i=180,s=r.userID;else if(r.userAttribute)i=209,s=r.userAttribute;else throw new Error(
"Either a userID or userAttribute packet needs to be supplied for certification.");let a=s.write();return p.concat([this.toSign(n.key,r),new Uint8Array([i]),p.writeNumber(a.length,4),a])}case n.subkeyBinding:case n.
subkeyRevocation:case n.keyBinding:return p.concat([this.toSign(n.key,r),this.toSign(n.key,{key:r.bind})]);case n.key:if(r.key===void 0)throw new Error("Key packet is required for this signature.");return r.
key.writeForHash(this.version);case n.keyRevocation:return this.toSign(n.key,r);case n.timestamp:return new Uint8Array(0);case n.thirdParty:throw new Error("Not implemented");default:throw new Error("\
Unknown signature type.")}}calculateTrailer(e,r){let n=0;return me(Br(this.signatureData),s=>{n+=s.length},()=>{let s=[];return this.version===5&&(this.signatureType===l.signature.binary||this.signatureType===
l.signature.text)&&(r?s.push(new Uint8Array(6)):s.push(e.writeHeader())),s.push(new Uint8Array([this.version,255])),this.version===5&&s.push(new Uint8Array(4)),s.push(p.writeNumber(n,4)),p.concat(s)})}toHash(e,r,n=!1){
let s=this.toSign(e,r);return p.concat([this.salt||new Uint8Array,s,this.signatureData,this.calculateTrailer(r,n)])}async hash(e,r,n,s=!1){if(this.version===6&&this.salt.length!==va(this.hashAlgorithm))
throw new Error("Signature salt does not have the expected length");return n||(n=this.toHash(e,r,s)),Dr(this.hashAlgorithm,n)}async verify(e,r,n,s=new Date,i=!1,a=L){if(!this.issuerKeyID.equals(e.getKeyID()))
throw new Error("Signature was not issued by the given public key");if(this.publicKeyAlgorithm!==e.algorithm)throw new Error("Public key algorithm used to sign signature does not match issuer key algo\
rithm.");let o=r===l.signature.binary||r===l.signature.text;if(!(this[Ln]&&!o)){let h,f;if(this.hashed?f=await this.hashed:(h=this.toHash(r,n,i),f=await this.hash(r,n,h)),f=await ge(f),this.signedHashValue[0]!==
f[0]||this.signedHashValue[1]!==f[1])throw new Error("Signed digest did not match");if(this.params=await this.params,this[Ln]=await By(this.publicKeyAlgorithm,this.hashAlgorithm,this.params,e.publicParams,
h,f),!this[Ln])throw new Error("Signature verification failed")}let u=p.normalizeDate(s);if(u&&this.created>u)throw new Error("Signature creation time is in the future");if(u&&u>=this.getExpirationTime())
throw new Error("Signature is expired");if(a.rejectHashAlgorithms.has(this.hashAlgorithm))throw new Error("Insecure hash algorithm: "+l.read(l.hash,this.hashAlgorithm).toUpperCase());if(a.rejectMessageHashAlgorithms.
has(this.hashAlgorithm)&&[l.signature.binary,l.signature.text].includes(this.signatureType))throw new Error("Insecure message hash algorithm: "+l.read(l.hash,this.hashAlgorithm).toUpperCase());if(this.
unknownSubpackets.forEach(({type:h,critical:f})=>{if(f)throw new Error(`Unknown critical signature subpacket type ${h}`)}),this.rawNotations.forEach(({name:h,critical:f})=>{if(f&&a.knownNotations.indexOf(
h)<0)throw new Error(`Unknown critical notation: ${h}`)}),this.revocationKeyClass!==null)throw new Error("This key is intended to be revoked with an authorized key, which OpenPGP.js does not support.")}isExpired(e=new Date){
let r=p.normalizeDate(e);return r!==null?!(this.created<=r&&r<this.getExpirationTime()):!1}getExpirationTime(){return this.signatureNeverExpires?1/0:new Date(this.created.getTime()+this.signatureExpirationTime*
1e3)}};function $(t,e,r){let n=[];return n.push(no(r.length+1)),n.push(new Uint8Array([(e?128:0)|t])),n.push(r),p.concat(n)}function va(t){switch(t){case l.hash.sha256:return 16;case l.hash.sha384:return 24;case l.
hash.sha512:return 32;case l.hash.sha224:return 16;case l.hash.sha3_256:return 16;case l.hash.sha3_512:return 32;default:throw new Error("Unsupported hash function")}}var it=class t{static get tag(){return l.
packet.onePassSignature}static fromSignaturePacket(e,r){let n=new t;return n.version=e.version===6?6:3,n.signatureType=e.signatureType,n.hashAlgorithm=e.hashAlgorithm,n.publicKeyAlgorithm=e.publicKeyAlgorithm,
n.issuerKeyID=e.issuerKeyID,n.salt=e.salt,n.issuerFingerprint=e.issuerFingerprint,n.flags=r?1:0,n}constructor(){this.version=null,this.signatureType=null,this.hashAlgorithm=null,this.publicKeyAlgorithm=
null,this.salt=null,this.issuerKeyID=null,this.issuerFingerprint=null,this.flags=null}read(e){let r=0;if(this.version=e[r++],this.version!==3&&this.version!==6)throw new J(`Version ${this.version} of \
the one-pass signature packet is unsupported.`);if(this.signatureType=e[r++],this.hashAlgorithm=e[r++],this.publicKeyAlgorithm=e[r++],this.version===6){let n=e[r++];this.salt=e.subarray(r,r+n),r+=n,this.
issuerFingerprint=e.subarray(r,r+32),r+=32,this.issuerKeyID=new Nt,this.issuerKeyID.read(this.issuerFingerprint)}else this.issuerKeyID=new Nt,this.issuerKeyID.read(e.subarray(r,r+8)),r+=8;return this.
flags=e[r++],this}write(){let e=[new Uint8Array([this.version,this.signatureType,this.hashAlgorithm,this.publicKeyAlgorithm])];return this.version===6?e.push(new Uint8Array([this.salt.length]),this.salt,
this.issuerFingerprint):e.push(this.issuerKeyID.write()),e.push(new Uint8Array([this.flags])),p.concatUint8Array(e)}calculateTrailer(...e){return Lr(async()=>_e.prototype.calculateTrailer.apply(await this.
correspondingSig,e))}async verify(){let e=await this.correspondingSig;if(!e||e.constructor.tag!==l.packet.signature)throw new Error("Corresponding signature packet missing");if(e.signatureType!==this.
signatureType||e.hashAlgorithm!==this.hashAlgorithm||e.publicKeyAlgorithm!==this.publicKeyAlgorithm||!e.issuerKeyID.equals(this.issuerKeyID)||this.version===3&&e.version===6||this.version===6&&e.version!==
6||this.version===6&&!p.equalsUint8Array(e.issuerFingerprint,this.issuerFingerprint)||this.version===6&&!p.equalsUint8Array(e.salt,this.salt))throw new Error("Corresponding signature packet does not m\
atch one-pass signature packet");return e.hashed=this.hashed,e.verify.apply(e,arguments)}};it.prototype.hash=_e.prototype.hash;it.prototype.toHash=_e.prototype.toHash;it.prototype.toSign=_e.prototype.
toSign;function Xy(t,e){if(!e[t]){let r;try{r=l.read(l.packet,t)}catch{throw new on(`Unknown packet type with tag: ${t}`)}throw new Error(`Packet not allowed in this context: ${r}`)}return new e[t]}var ue=class t extends Array{static async fromBinary(e,r,n=L,s=null,i=!1){
let a=new t;return await a.read(e,r,n,s,i),a}async read(e,r,n=L,s=null,i=!1){let a;n.additionalAllowedPackets.length&&(a=p.constructAllowedPackets(n.additionalAllowedPackets),r={...r,...a}),this.stream=
cr(e,async(c,u)=>{let h=ut(c),f=$e(u);try{let d=p.isStream(c);for(;;){await f.ready;let g,w;if(await ld(h,d,async k=>{try{if(k.tag===l.packet.marker||k.tag===l.packet.trust||k.tag===l.packet.padding)return;
let E=Xy(k.tag,r);try{s?.recordPacket(k.tag,a)}catch(S){if(n.enforceGrammar)throw S;p.printDebugError(S)}E.packets=new t,E.fromStream=p.isStream(k.packet),w=E.fromStream;try{await E.read(k.packet,n)}catch(S){
throw S instanceof J?S:p.wrapError(new Fn(`Parsing ${E.constructor.name} failed`),S)}await f.write(E)}catch(E){let S=E instanceof on&&k.tag<=39,v=E instanceof J&&!(E instanceof on)&&!n.ignoreUnsupportedPackets,
K=E instanceof Fn&&!n.ignoreMalformedPackets,U=Ms(k.tag),M=!(E instanceof on||E instanceof J||E instanceof Fn);if(S||v||K||U||M)i?g=E:await f.abort(E);else{let D=new On(k.tag,k.packet);await f.write(D)}
p.printDebugError(E)}}),w&&(d=null),g)throw await h.readToEnd(),g;let b=await h.peekBytes(2);if(!b||!b.length){try{s?.recordEnd()}catch(k){if(n.enforceGrammar)throw k;p.printDebugError(k)}await f.ready,
await f.close();return}}}catch(d){await f.abort(d)}});let o=ut(this.stream);for(;;){let{done:c,value:u}=await o.read();if(c?this.stream=null:this.push(u),c||Ms(u.constructor.tag))break}o.releaseLock()}write(){
let e=[];for(let r=0;r<this.length;r++){let n=this[r]instanceof On?this[r].tag:this[r].constructor.tag,s=this[r].write();if(p.isStream(s)&&Ms(this[r].constructor.tag)){let i=[],a=0,o=512;e.push(jl(n)),
e.push(me(s,c=>{if(i.push(c),a+=c.length,a>=o){let u=Math.min(Math.log(a)/Math.LN2|0,30),h=2**u,f=p.concat([cd(u)].concat(i));return i=[f.subarray(1+h)],a=i[0].length,f.subarray(0,1+h)}},()=>p.concat(
[no(a)].concat(i))))}else{if(p.isStream(s)){let i=0;e.push(me(Br(s),a=>{i+=a.length},()=>il(n,i)))}else e.push(il(n,s.length));e.push(s)}}return p.concat(e)}filterByTag(...e){let r=new t,n=s=>i=>s===i;
for(let s=0;s<this.length;s++)e.some(n(this[s].constructor.tag))&&r.push(this[s]);return r}findPacket(e){return this.find(r=>r.constructor.tag===e)}indexOfTag(...e){let r=[],n=this,s=i=>a=>i===a;for(let i=0;i<
this.length;i++)e.some(s(n[i].constructor.tag))&&r.push(i);return r}},wt=class t extends Error{constructor(...e){super(...e),Error.captureStackTrace&&Error.captureStackTrace(this,t),this.name="Grammar\
Error"}},le;(function(t){t[t.EmptyMessage=0]="EmptyMessage",t[t.PlaintextOrEncryptedData=1]="PlaintextOrEncryptedData",t[t.EncryptedSessionKeys=2]="EncryptedSessionKeys",t[t.StandaloneAdditionalAllowedData=
3]="StandaloneAdditionalAllowedData"})(le||(le={}));var dn=class{constructor(){this.state=le.EmptyMessage,this.leadingOnePassSignatureCounter=0}recordPacket(e,r){switch(this.state){case le.EmptyMessage:case le.
StandaloneAdditionalAllowedData:switch(e){case l.packet.literalData:case l.packet.compressedData:case l.packet.aeadEncryptedData:case l.packet.symEncryptedIntegrityProtectedData:case l.packet.symmetricallyEncryptedData:
this.state=le.PlaintextOrEncryptedData;return;case l.packet.signature:if(this.state===le.StandaloneAdditionalAllowedData&&--this.leadingOnePassSignatureCounter<0)throw new wt("Trailing signature packe\
t without OPS");return;case l.packet.onePassSignature:if(this.state===le.StandaloneAdditionalAllowedData)throw new wt("OPS following StandaloneAdditionalAllowedData");this.leadingOnePassSignatureCounter++;
return;case l.packet.publicKeyEncryptedSessionKey:case l.packet.symEncryptedSessionKey:this.state=le.EncryptedSessionKeys;return;default:if(!r?.[e])throw new wt(`Unexpected packet ${e} in state ${this.
state}`);this.state=le.StandaloneAdditionalAllowedData;return}case le.PlaintextOrEncryptedData:switch(e){case l.packet.signature:if(--this.leadingOnePassSignatureCounter<0)throw new wt("Trailing signa\
ture packet without OPS");this.state=le.PlaintextOrEncryptedData;return;default:if(!r?.[e])throw new wt(`Unexpected packet ${e} in state ${this.state}`);this.state=le.PlaintextOrEncryptedData;return}case le.
EncryptedSessionKeys:switch(e){case l.packet.publicKeyEncryptedSessionKey:case l.packet.symEncryptedSessionKey:this.state=le.EncryptedSessionKeys;return;case l.packet.symEncryptedIntegrityProtectedData:case l.
packet.aeadEncryptedData:case l.packet.symmetricallyEncryptedData:this.state=le.PlaintextOrEncryptedData;return;case l.packet.signature:if(--this.leadingOnePassSignatureCounter<0)throw new wt("Trailin\
g signature packet without OPS");this.state=le.PlaintextOrEncryptedData;return;default:if(!r?.[e])throw new wt(`Unexpected packet ${e} in state ${this.state}`);this.state=le.EncryptedSessionKeys}}}recordEnd(){
switch(this.state){case le.EmptyMessage:case le.PlaintextOrEncryptedData:case le.EncryptedSessionKeys:case le.StandaloneAdditionalAllowedData:if(this.leadingOnePassSignatureCounter>0)throw new wt("Mis\
sing trailing signature packets")}}},Zy=p.constructAllowedPackets([Tr,it,_e]),Ur=class{static get tag(){return l.packet.compressedData}constructor(e=L){this.packets=null,this.algorithm=e.preferredCompressionAlgorithm,
this.compressed=null}async read(e,r=L){await fi(e,async n=>{this.algorithm=await n.readByte(),this.compressed=n.remainder(),await this.decompress(r)})}write(){return this.compressed===null&&this.compress(),
p.concat([new Uint8Array([this.algorithm]),this.compressed])}async decompress(e=L){let r=l.read(l.compression,this.algorithm),n=ng[r];if(!n)throw new Error(`${r} decompression not supported`);let s=await n(
this.compressed,e);if(e.maxDecompressedMessageSize!==1/0){let i=0;s=me(s,a=>{if(i+=a.length,i>e.maxDecompressedMessageSize)throw new Error("Maximum decompressed message size exceeded");return a})}(!Ae(
this.compressed)||ie(this.compressed))&&(s=await ge(s,i=>{let a=new Je;for(let o of i)a.push(o);return a[$a](),a})),this.packets=await ue.fromBinary(s,Zy,e,new dn)}compress(){let e=l.read(l.compression,
this.algorithm),r=rg[e];if(!r)throw new Error(`${e} compression not supported`);let n=this.packets.write(),s=r(n);(!Ae(n)||ie(n))&&(s=Lr(()=>ge(s))),this.compressed=s}};function eg(t){let r=ut(t);return new ReadableStream(
{async pull(n){try{let{value:s,done:i}=await r.read();if(i){n.close();return}for(let a=0;a<=s.length;a+=65536)(!a||a<s.length)&&n.enqueue(s.subarray(a,a+65536))}catch(s){n.error(s)}}},{highWaterMark:0})}
function si(t,e){return(r,n)=>{let s;if(ie(r)?s=new ReadableStream({async start(u){try{let h=[],f=0;for(let d of await ge(r,g=>g))h.push(d),f+=d.length,f>=65536&&(u.enqueue(Ce(h)),h=[],f=0);h.length&&
u.enqueue(Ce(h)),u.close()}catch(h){u.error(h)}}}):Ae(r)?s=r:s=Yn(r),s=eg(s),t)try{let u=t();return s.pipeThrough(u)}catch(u){if(u.name!=="TypeError")throw u}let i=ut(s),a=new e,o=!1,c=!1;return new ReadableStream(
{start(u){a.ondata=(h,f)=>{u.enqueue(h),o=!0,f&&(u.close(),c=!0)}},async pull(){for(o=!1;!o&&!c;){let{done:u,value:h}=await i.read();if(u){a.push(new Uint8Array,!0);return}else h.length&&a.push(h)}}},
{highWaterMark:0})}}function tg(){return async function(t,e){let{default:r}=await Promise.resolve().then(()=>(Xc(),$c)).then(function(n){return n.i});return r(Yn(t),e.maxDecompressedMessageSize)}}var ii=t=>({
compressor:typeof CompressionStream<"u"&&(()=>new CompressionStream(t)),decompressor:typeof DecompressionStream<"u"&&(()=>new DecompressionStream(t))}),rg={zip:si(ii("deflate-raw").compressor,Fs),zlib:si(
ii("deflate").compressor,Vy)},ng={uncompressed:(t,e)=>t,zip:si(ii("deflate-raw").decompressor,Ns),zlib:si(ii("deflate").decompressor,Yy),bzip2:tg()};function Ca(t,e,r){if(typeof t.setBigUint64=="funct\
ion")return t.setBigUint64(e,BigInt(r));if(r<=4294967295)t.setUint32(e,0),t.setUint32(e+4,r);else{let n=BigInt(r);t.setUint32(e,Number(n>>BigInt(32))),t.setUint32(e+4,Number(n&BigInt(4294967295)))}}var sg=p.
constructAllowedPackets([Tr,Ur,it,_e]),yn=class t{static get tag(){return l.packet.symEncryptedIntegrityProtectedData}static fromObject({version:e,aeadAlgorithm:r}){if(e!==1&&e!==2)throw new Error("Un\
supported SEIPD version");let n=new t;return n.version=e,e===2&&(n.aeadAlgorithm=r),n}constructor(){this.version=null,this.cipherAlgorithm=null,this.aeadAlgorithm=null,this.chunkSizeByte=null,this.salt=
null,this.encrypted=null,this.packets=null}async read(e){await fi(e,async r=>{if(this.version=await r.readByte(),this.version!==1&&this.version!==2)throw new J(`Version ${this.version} of the SEIP pac\
ket is unsupported.`);this.version===2&&(this.cipherAlgorithm=await r.readByte(),this.aeadAlgorithm=await r.readByte(),this.chunkSizeByte=await r.readByte(),this.salt=await r.readBytes(32)),this.encrypted=
r.remainder()})}write(){return this.version===2?p.concat([new Uint8Array([this.version,this.cipherAlgorithm,this.aeadAlgorithm,this.chunkSizeByte]),this.salt,this.encrypted]):p.concat([new Uint8Array(
[this.version]),this.encrypted])}async encrypt(e,r,n=L){let{blockSize:s,keySize:i}=se(e);if(r.length!==i)throw new Error("Unexpected session key size");let a=this.packets.write();if(ie(a)&&(a=await ge(
a)),this.version===2)this.cipherAlgorithm=e,this.salt=st(32),this.chunkSizeByte=n.aeadChunkSizeByte,this.encrypted=await ai(this,"encrypt",r,a);else{let o=await wu(e),c=new Uint8Array([211,20]),u=p.concat(
[o,a,c]),h=await Dr(l.hash.sha1,_n(u)),f=p.concat([u,h]);this.encrypted=await ei(e,r,f,new Uint8Array(s))}return!0}async decrypt(e,r,n=L){if(r.length!==se(e).keySize)throw new Error("Unexpected sessio\
n key size");let s=Br(this.encrypted);ie(s)&&(s=await ge(s));let i,a=!1;if(this.version===2){if(this.cipherAlgorithm!==e)throw new Error("Unexpected session key algorithm");i=await ai(this,"decrypt",r,
s)}else{let{blockSize:o}=se(e),c=await go(e,r,s,new Uint8Array(o)),u=Te(_n(c),-20),h=Te(c,0,-20),f=Promise.all([ge(await Dr(l.hash.sha1,_n(h))),ge(u)]).then(([g,w])=>{if(!p.equalsUint8Array(g,w))throw new Error(
"Modification detected.");return new Uint8Array}),d=Te(h,o+2);i=Te(d,0,-2),i=Ce([i,Lr(()=>f)]),p.isStream(s)&&n.allowUnauthenticatedStream?a=!0:i=await ge(i,g=>Ce(g.filter(w=>w.length)))}return this.packets=
await ue.fromBinary(i,sg,n,new dn,a),!0}};async function ai(t,e,r,n){let s=t instanceof yn&&t.version===2,i=!s&&t.constructor.tag===l.packet.aeadEncryptedData;if(!s&&!i)throw new Error("Unexpected pac\
ket type");let a=ln(t.aeadAlgorithm,i),o=e==="decrypt"?a.tagLength:0,c=e==="encrypt"?a.tagLength:0,u=2**(t.chunkSizeByte+6)+o,h=i?8:0,f=new ArrayBuffer(13+h),d=new Uint8Array(f,0,5+h),g=new Uint8Array(
f),w=new DataView(f),b=new Uint8Array(f,5,8);d.set([192|t.constructor.tag,t.version,t.cipherAlgorithm,t.aeadAlgorithm,t.chunkSizeByte],0);let A=0,k=Promise.resolve(),E=0,S=0,v,K;if(s){let{keySize:M}=se(
t.cipherAlgorithm),{ivLength:D}=a,T=new Uint8Array(f,0,5),P=await Kr(l.hash.sha256,r,t.salt,T,M+D);r=P.subarray(0,M),v=P.subarray(M),v.fill(0,v.length-8),K=new DataView(v.buffer,v.byteOffset,v.byteLength)}else
v=t.iv;let U=await a(t.cipherAlgorithm,r);return cr(n,async(M,D)=>{if(p.isStream(M)!=="array"){let I=new TransformStream({},{highWaterMark:p.getHardwareConcurrency()*2**(t.chunkSizeByte+6),size:F=>F.length});
mn(I.readable,D),D=I.writable}let T=ut(M),P=$e(D);try{for(;;){let I=await T.readBytes(u+o)||new Uint8Array,F=I.subarray(I.length-o);I=I.subarray(0,I.length-o);let N,W,z;if(s)z=v;else{z=v.slice();for(let Q=0;Q<
8;Q++)z[v.length-8+Q]^=b[Q]}if(!A||I.length?(T.unshift(F),N=U[e](I,z,d),N.catch(()=>{}),S+=I.length-o+c):(Ca(w,5+h,E),N=U[e](F,z,g),N.catch(()=>{}),S+=c,W=!0),E+=I.length-o,k=k.then(()=>N).then(async Q=>{
await P.ready,await P.write(Q),S-=Q.length}).catch(Q=>P.abort(Q)),(W||S>P.desiredSize)&&await k,!W)s?Ca(K,v.length-8,++A):Ca(w,5,++A);else{await P.close();break}}}catch(I){await P.ready.catch(()=>{}),
await P.abort(I)}})}var ig=p.constructAllowedPackets([Tr,Ur,it,_e]),Il=1,Wa=class{static get tag(){return l.packet.aeadEncryptedData}constructor(){this.version=Il,this.cipherAlgorithm=null,this.aeadAlgorithm=
l.aead.eax,this.chunkSizeByte=null,this.iv=null,this.encrypted=null,this.packets=null}async read(e){await fi(e,async r=>{let n=await r.readByte();if(n!==Il)throw new J(`Version ${n} of the AEAD-encryp\
ted data packet is not supported.`);this.cipherAlgorithm=await r.readByte(),this.aeadAlgorithm=await r.readByte(),this.chunkSizeByte=await r.readByte();let s=ln(this.aeadAlgorithm,!0);this.iv=await r.
readBytes(s.ivLength),this.encrypted=r.remainder()})}write(){return p.concat([new Uint8Array([this.version,this.cipherAlgorithm,this.aeadAlgorithm,this.chunkSizeByte]),this.iv,this.encrypted])}async decrypt(e,r,n=L){
this.packets=await ue.fromBinary(await ai(this,"decrypt",r,Br(this.encrypted)),ig,n,new dn)}async encrypt(e,r,n=L){this.cipherAlgorithm=e;let{ivLength:s}=ln(this.aeadAlgorithm,!0);this.iv=st(s),this.chunkSizeByte=
n.aeadChunkSizeByte;let i=this.packets.write();this.encrypted=await ai(this,"encrypt",r,i)}},jn=class t{static get tag(){return l.packet.publicKeyEncryptedSessionKey}constructor(){this.version=null,this.
publicKeyID=new Nt,this.publicKeyVersion=null,this.publicKeyFingerprint=null,this.publicKeyAlgorithm=null,this.sessionKey=null,this.sessionKeyAlgorithm=null,this.encrypted={}}static fromObject({version:e,
encryptionKeyPacket:r,anonymousRecipient:n,sessionKey:s,sessionKeyAlgorithm:i}){let a=new t;if(e!==3&&e!==6)throw new Error("Unsupported PKESK version");return a.version=e,e===6&&(a.publicKeyVersion=n?
null:r.version,a.publicKeyFingerprint=n?null:r.getFingerprintBytes()),a.publicKeyID=n?Nt.wildcard():r.getKeyID(),a.publicKeyAlgorithm=r.algorithm,a.sessionKey=s,a.sessionKeyAlgorithm=i,a}read(e){let r=0;
if(this.version=e[r++],this.version!==3&&this.version!==6)throw new J(`Version ${this.version} of the PKESK packet is unsupported.`);if(this.version===6){let n=e[r++];if(n){this.publicKeyVersion=e[r++];
let s=n-1;this.publicKeyFingerprint=e.subarray(r,r+s),r+=s,this.publicKeyVersion>=5?this.publicKeyID.read(this.publicKeyFingerprint):this.publicKeyID.read(this.publicKeyFingerprint.subarray(-8))}else this.
publicKeyID=Nt.wildcard()}else r+=this.publicKeyID.read(e.subarray(r,r+8));if(this.publicKeyAlgorithm=e[r++],this.encrypted=ly(this.publicKeyAlgorithm,e.subarray(r)),this.publicKeyAlgorithm===l.publicKey.
x25519||this.publicKeyAlgorithm===l.publicKey.x448){if(this.version===3)this.sessionKeyAlgorithm=l.write(l.symmetric,this.encrypted.C.algorithm);else if(this.encrypted.C.algorithm!==null)throw new Error(
"Unexpected cleartext symmetric algorithm")}}write(){let e=[new Uint8Array([this.version])];return this.version===6?this.publicKeyFingerprint!==null?(e.push(new Uint8Array([this.publicKeyFingerprint.length+
1,this.publicKeyVersion])),e.push(this.publicKeyFingerprint)):e.push(new Uint8Array([0])):e.push(this.publicKeyID.write()),e.push(new Uint8Array([this.publicKeyAlgorithm]),Zs(this.publicKeyAlgorithm,this.
encrypted)),p.concatUint8Array(e)}async encrypt(e){let r=l.write(l.publicKey,this.publicKeyAlgorithm),n=this.version===3?this.sessionKeyAlgorithm:null,s=e.version===5?e.getFingerprintBytes().subarray(
0,20):e.getFingerprintBytes(),i=Bl(this.version,r,n,this.sessionKey);this.encrypted=await ay(r,n,e.publicParams,i,s)}async decrypt(e,r){if(this.publicKeyAlgorithm!==e.algorithm)throw new Error("Decryp\
tion error");let n=r?Bl(this.version,this.publicKeyAlgorithm,r.sessionKeyAlgorithm,r.sessionKey):null,s=e.version===5?e.getFingerprintBytes().subarray(0,20):e.getFingerprintBytes(),i=await oy(this.publicKeyAlgorithm,
e.publicParams,e.privateParams,this.encrypted,s,n),{sessionKey:a,sessionKeyAlgorithm:o}=ag(this.version,this.publicKeyAlgorithm,i,r);if(this.version===3){let c=this.publicKeyAlgorithm!==l.publicKey.x25519&&
this.publicKeyAlgorithm!==l.publicKey.x448;if(this.sessionKeyAlgorithm=c?o:this.sessionKeyAlgorithm,a.length!==se(this.sessionKeyAlgorithm).keySize)throw new Error("Unexpected session key size")}this.
sessionKey=a}};function Bl(t,e,r,n){switch(e){case l.publicKey.rsaEncrypt:case l.publicKey.rsaEncryptSign:case l.publicKey.elgamal:case l.publicKey.ecdh:return p.concatUint8Array([new Uint8Array(t===6?
[]:[r]),n,p.writeChecksum(n.subarray(n.length%8))]);case l.publicKey.x25519:case l.publicKey.x448:return n;default:throw new Error("Unsupported public key algorithm")}}function ag(t,e,r,n){switch(e){case l.
publicKey.rsaEncrypt:case l.publicKey.rsaEncryptSign:case l.publicKey.elgamal:case l.publicKey.ecdh:{let s=r.subarray(0,r.length-2),i=r.subarray(r.length-2),a=p.writeChecksum(s.subarray(s.length%8)),o=a[0]===
i[0]&a[1]===i[1],c=t===6?{sessionKeyAlgorithm:null,sessionKey:s}:{sessionKeyAlgorithm:s[0],sessionKey:s.subarray(1)};if(n){let u=o&c.sessionKeyAlgorithm===n.sessionKeyAlgorithm&c.sessionKey.length===n.
sessionKey.length;return{sessionKey:p.selectUint8Array(u,c.sessionKey,n.sessionKey),sessionKeyAlgorithm:t===6?null:p.selectUint8(u,c.sessionKeyAlgorithm,n.sessionKeyAlgorithm)}}else{if(o&&(t===6||l.read(
l.symmetric,c.sessionKeyAlgorithm)))return c;throw new Error("Decryption error")}}case l.publicKey.x25519:case l.publicKey.x448:return{sessionKeyAlgorithm:null,sessionKey:r};default:throw new Error("U\
nsupported public key algorithm")}}var Gn=class t{static get tag(){return l.packet.symEncryptedSessionKey}constructor(e=L){this.version=e.aeadProtect?6:4,this.sessionKey=null,this.sessionKeyEncryptionAlgorithm=
null,this.sessionKeyAlgorithm=null,this.aeadAlgorithm=l.write(l.aead,e.preferredAEADAlgorithm),this.encrypted=null,this.s2k=null,this.iv=null}read(e){let r=0;if(this.version=e[r++],this.version!==4&&this.
version!==5&&this.version!==6)throw new J(`Version ${this.version} of the SKESK packet is unsupported.`);this.version===6&&r++;let n=e[r++];this.version>=5&&(this.aeadAlgorithm=e[r++],this.version===6&&
r++);let s=e[r++];if(this.s2k=Au(s),r+=this.s2k.read(e.subarray(r,e.length)),this.version>=5){let i=ln(this.aeadAlgorithm,!0);this.iv=e.subarray(r,r+=i.ivLength)}this.version>=5||r<e.length?(this.encrypted=
e.subarray(r,e.length),this.sessionKeyEncryptionAlgorithm=n):this.sessionKeyAlgorithm=n}write(){let e=this.encrypted===null?this.sessionKeyAlgorithm:this.sessionKeyEncryptionAlgorithm,r,n=this.s2k.write();
if(this.version===6){let s=n.length,i=3+s+this.iv.length;r=p.concatUint8Array([new Uint8Array([this.version,i,e,this.aeadAlgorithm,s]),n,this.iv,this.encrypted])}else this.version===5?r=p.concatUint8Array(
[new Uint8Array([this.version,e,this.aeadAlgorithm]),n,this.iv,this.encrypted]):(r=p.concatUint8Array([new Uint8Array([this.version,e]),n]),this.encrypted!==null&&(r=p.concatUint8Array([r,this.encrypted])));
return r}async decrypt(e,r=L){let n=this.sessionKeyEncryptionAlgorithm!==null?this.sessionKeyEncryptionAlgorithm:this.sessionKeyAlgorithm,{blockSize:s,keySize:i}=se(n),a=await this.s2k.produceKey(e,i,
r);if(this.version>=5){let o=ln(this.aeadAlgorithm,!0),c=new Uint8Array([192|t.tag,this.version,this.sessionKeyEncryptionAlgorithm,this.aeadAlgorithm]),u=this.version===6?await Kr(l.hash.sha256,a,new Uint8Array,
c,i):a,h=await o(n,u);this.sessionKey=await h.decrypt(this.encrypted,this.iv,c)}else if(this.encrypted!==null){let o=await go(n,a,this.encrypted,new Uint8Array(s));if(this.sessionKeyAlgorithm=l.write(
l.symmetric,o[0]),this.sessionKey=o.subarray(1,o.length),this.sessionKey.length!==se(this.sessionKeyAlgorithm).keySize)throw new Error("Unexpected session key size")}else this.sessionKey=a}async encrypt(e,r=L){
let n=this.sessionKeyEncryptionAlgorithm!==null?this.sessionKeyEncryptionAlgorithm:this.sessionKeyAlgorithm;this.sessionKeyEncryptionAlgorithm=n,this.s2k=My(r),this.s2k.generateSalt();let{blockSize:s,
keySize:i}=se(n),a=await this.s2k.produceKey(e,i,r);if(this.sessionKey===null&&(this.sessionKey=_a(this.sessionKeyAlgorithm)),this.version>=5){let o=ln(this.aeadAlgorithm);this.iv=st(o.ivLength);let c=new Uint8Array(
[192|t.tag,this.version,this.sessionKeyEncryptionAlgorithm,this.aeadAlgorithm]),u=this.version===6?await Kr(l.hash.sha256,a,new Uint8Array,c,i):a,h=await o(n,u);this.encrypted=await h.encrypt(this.sessionKey,
this.iv,c)}else{let o=p.concatUint8Array([new Uint8Array([this.sessionKeyAlgorithm]),this.sessionKey]);this.encrypted=await ei(n,a,o,new Uint8Array(s))}}},gn=class t{static get tag(){return l.packet.publicKey}constructor(e=new Date,r=L){
this.version=r.v6Keys?6:4,this.created=p.normalizeDate(e),this.algorithm=null,this.publicParams=null,this.expirationTimeV3=0,this.fingerprint=null,this.keyID=null}static fromSecretKeyPacket(e){let r=new t,
{version:n,created:s,algorithm:i,publicParams:a,keyID:o,fingerprint:c}=e;return r.version=n,r.created=s,r.algorithm=i,r.publicParams=a,r.keyID=o,r.fingerprint=c,r}async read(e,r=L){let n=0;if(this.version=
e[n++],this.version===5&&!r.enableParsingV5Entities)throw new J("Support for parsing v5 entities is disabled; turn on `config.enableParsingV5Entities` if needed");if(this.version===4||this.version===5||
this.version===6){this.created=p.readDate(e.subarray(n,n+4)),n+=4,this.algorithm=e[n++],this.version>=5&&(n+=4);let{read:s,publicParams:i}=cy(this.algorithm,e.subarray(n));if(this.version===6&&i.oid&&
(i.oid.getName()===l.curve.curve25519Legacy||i.oid.getName()===l.curve.ed25519Legacy))throw new Error("Legacy curve25519 cannot be used with v6 keys");return this.publicParams=i,n+=s,await this.computeFingerprintAndKeyID(),
n}throw new J(`Version ${this.version} of the key packet is unsupported.`)}write(){let e=[];e.push(new Uint8Array([this.version])),e.push(p.writeDate(this.created)),e.push(new Uint8Array([this.algorithm]));
let r=Zs(this.algorithm,this.publicParams);return this.version>=5&&e.push(p.writeNumber(r.length,4)),e.push(r),p.concatUint8Array(e)}writeForHash(e){let r=this.writePublicKey(),n=149+e,s=e>=5?4:2;return p.
concatUint8Array([new Uint8Array([n]),p.writeNumber(r.length,s),r])}isDecrypted(){return null}getCreationTime(){return this.created}getKeyID(){return this.keyID}async computeFingerprintAndKeyID(){if(await this.
computeFingerprint(),this.keyID=new Nt,this.version>=5)this.keyID.read(this.fingerprint.subarray(0,8));else if(this.version===4)this.keyID.read(this.fingerprint.subarray(12,20));else throw new Error("\
Unsupported key version")}async computeFingerprint(){let e=this.writeForHash(this.version);if(this.version>=5)this.fingerprint=await Dr(l.hash.sha256,e);else if(this.version===4)this.fingerprint=await Dr(
l.hash.sha1,e);else throw new Error("Unsupported key version")}getFingerprintBytes(){return this.fingerprint}getFingerprint(){return p.uint8ArrayToHex(this.getFingerprintBytes())}hasSameFingerprintAs(e){
return this.version===e.version&&p.equalsUint8Array(this.writePublicKey(),e.writePublicKey())}getAlgorithmInfo(){let e={};e.algorithm=l.read(l.publicKey,this.algorithm);let r=this.publicParams.n||this.
publicParams.p;return r?e.bits=p.uint8ArrayBitLength(r):this.publicParams.oid&&(e.curve=this.publicParams.oid.getName()),e}};gn.prototype.readPublicKey=gn.prototype.read;gn.prototype.writePublicKey=gn.
prototype.write;var og=p.constructAllowedPackets([Tr,Ur,it,_e]),Va=class{static get tag(){return l.packet.symmetricallyEncryptedData}constructor(){this.encrypted=null,this.packets=null}read(e){this.encrypted=
e}write(){return this.encrypted}async decrypt(e,r,n=L){if(!n.allowUnauthenticatedMessages)throw new Error("Message is not authenticated.");let{blockSize:s}=se(e),i=await ge(Br(this.encrypted)),a=await go(
e,r,i.subarray(s+2),i.subarray(2,s+2));this.packets=await ue.fromBinary(a,og,n)}async encrypt(e,r,n=L){let s=this.packets.write(),{blockSize:i}=se(e),a=await wu(e),o=await ei(e,r,a,new Uint8Array(i)),
c=await ei(e,r,s,o.subarray(2));this.encrypted=p.concat([o,c])}};var oi=class{constructor(e){this.packets=e||new ue}write(){return this.packets.write()}armor(e=L){let r=this.packets.some(n=>n.constructor.tag===_e.tag&&n.version!==6);return Za(l.armor.signature,this.
write(),void 0,void 0,void 0,r,e)}getSigningKeyIDs(){return this.packets.map(e=>e.issuerKeyID)}};async function mt(t,e,r,n,s=new Date,i){let a,o;for(let c=t.length-1;c>=0;c--)try{(!a||t[c].created>=a.created)&&(await t[c].verify(e,r,n,s,void 0,i),a=t[c])}catch(u){o=u}if(!a)throw p.wrapError(`Coul\
d not find valid ${l.read(l.signature,r)} signature in key ${e.getKeyID().toHex()}`.replace("certGeneric ","self-").replace(/([a-z])([A-Z])/g,(c,u,h)=>u+" "+h.toLowerCase()),o);return a}function Ya(t,e,r=new Date){
let n=p.normalizeDate(r);if(n!==null){let s=li(t,e);return!(t.created<=n&&n<s)}return!1}async function cg(t,e,r=new Date,n=[],s){let i=l.hash.sha256,a=s.preferredHashAlgorithm,o=await Promise.all(t.map(async(d,g)=>(await d.getPrimarySelfSignature(r,n[g],s)).preferredHashAlgorithms||[])),
c=new Map;for(let d of o)for(let g of d)try{let w=l.write(l.hash,g);c.set(w,c.has(w)?c.get(w)+1:1)}catch{}let u=d=>t.length===0||c.get(d)===t.length||d===i,h=()=>{if(c.size===0)return i;let g=Array.from(
c.keys()).filter(w=>u(w)).sort((w,b)=>ke(w)-ke(b))[0];return ke(g)>=ke(i)?g:i};if(new Set([l.publicKey.ecdsa,l.publicKey.eddsaLegacy,l.publicKey.ed25519,l.publicKey.ed448]).has(e.algorithm)){let d=uy(
e.algorithm,e.publicParams.oid),g=u(a),w=ke(a)>=ke(d);if(g&&w)return a;{let b=h();return ke(b)>=ke(d)?b:d}}return u(a)?a:h()}async function lg(t=[],e=new Date,r=[],n=L){let s=await Promise.all(t.map((c,u)=>c.getPrimarySelfSignature(e,r[u],n)));if(t.length?s.every(c=>c.features&&c.features[0]&l.features.seipdv2):n.aeadProtect){
let c={symmetricAlgo:l.symmetric.aes128,aeadAlgo:l.aead.ocb},u=[{symmetricAlgo:n.preferredSymmetricAlgorithm,aeadAlgo:n.preferredAEADAlgorithm},{symmetricAlgo:n.preferredSymmetricAlgorithm,aeadAlgo:l.
aead.ocb},{symmetricAlgo:l.symmetric.aes128,aeadAlgo:n.preferredAEADAlgorithm}];for(let h of u)if(s.every(f=>f.preferredCipherSuites&&f.preferredCipherSuites.some(d=>d[0]===h.symmetricAlgo&&d[1]===h.aeadAlgo)))
return h;return c}let a=l.symmetric.aes128,o=n.preferredSymmetricAlgorithm;return{symmetricAlgo:s.every(c=>c.preferredSymmetricAlgorithms&&c.preferredSymmetricAlgorithms.includes(o))?o:a,aeadAlgo:void 0}}
async function ci(t,e,r,n,s,i,a=[],o=!1,c){if(r.isDummy())throw new Error("Cannot sign with a gnu-dummy key.");if(!r.isDecrypted())throw new Error("Signing key is not decrypted.");let u=new _e;return Object.
assign(u,n),u.publicKeyAlgorithm=r.algorithm,u.hashAlgorithm=await cg(e,r,s,i,c),u.rawNotations=[...a],await u.sign(r,t,s,o,c),u}async function Ir(t,e,r,n=new Date,s){t=t[r],t&&(e[r].length?await Promise.
all(t.map(async function(i){!i.isExpired(n)&&(!s||await s(i))&&!e[r].some(function(a){return p.equalsUint8Array(a.writeParams(),i.writeParams())})&&e[r].push(i)})):e[r]=t)}async function wn(t,e,r,n,s,i,a=new Date,o){
i=i||t;let c=[];return await Promise.all(n.map(async function(u){try{if(!s||u.issuerKeyID.equals(s.issuerKeyID)){let h=![l.reasonForRevocation.keyRetired,l.reasonForRevocation.keySuperseded,l.reasonForRevocation.
userIDInvalid].includes(u.reasonForRevocationFlag);await u.verify(i,e,r,h?null:a,!1,o),c.push(u.issuerKeyID)}}catch{}})),s?(s.revoked=c.some(u=>u.equals(s.issuerKeyID))?!0:s.revoked||!1,s.revoked):c.length>
0}function li(t,e){let r;return e.keyNeverExpires===!1&&(r=t.created.getTime()+e.keyExpirationTime*1e3),r?new Date(r):1/0}function Dl(t,e,r){switch(t.algorithm){case l.publicKey.rsaEncryptSign:case l.publicKey.rsaSign:case l.publicKey.dsa:case l.publicKey.ecdsa:case l.publicKey.eddsaLegacy:case l.publicKey.ed25519:case l.
publicKey.ed448:if(!e.keyFlags&&!r.allowMissingKeyFlags)throw new Error("None of the key flags is set: consider passing `config.allowMissingKeyFlags`");return!e.keyFlags||(e.keyFlags[0]&l.keyFlags.signData)!==
0;default:return!1}}function Kl(t,e,r){switch(t.algorithm){case l.publicKey.rsaEncryptSign:case l.publicKey.rsaEncrypt:case l.publicKey.elgamal:case l.publicKey.ecdh:case l.publicKey.x25519:case l.publicKey.
x448:if(!e.keyFlags&&!r.allowMissingKeyFlags)throw new Error("None of the key flags is set: consider passing `config.allowMissingKeyFlags`");return!e.keyFlags||(e.keyFlags[0]&l.keyFlags.encryptCommunication)!==
0||(e.keyFlags[0]&l.keyFlags.encryptStorage)!==0;default:return!1}}function tn(t,e){let r=l.write(l.publicKey,t.algorithm),n=t.getAlgorithmInfo();if(e.rejectPublicKeyAlgorithms.has(r))throw new Error(`${n.algorithm} keys are considered too weak.`);switch(r){case l.publicKey.
rsaEncryptSign:case l.publicKey.rsaSign:case l.publicKey.rsaEncrypt:if(n.bits<e.minRSABits)throw new Error(`RSA keys shorter than ${e.minRSABits} bits are considered too weak.`);break;case l.publicKey.
ecdsa:case l.publicKey.eddsaLegacy:case l.publicKey.ecdh:if(e.rejectCurves.has(n.curve))throw new Error(`Support for ${n.algorithm} keys using curve ${n.curve} is disabled.`);break}}var qa=class t{constructor(e,r){
this.userID=e.constructor.tag===l.packet.userID?e:null,this.userAttribute=e.constructor.tag===l.packet.userAttribute?e:null,this.selfCertifications=[],this.otherCertifications=[],this.revocationSignatures=
[],this.mainKey=r}toPacketList(){let e=new ue;return e.push(this.userID||this.userAttribute),e.push(...this.revocationSignatures),e.push(...this.selfCertifications),e.push(...this.otherCertifications),
e}clone(){let e=new t(this.userID||this.userAttribute,this.mainKey);return e.selfCertifications=[...this.selfCertifications],e.otherCertifications=[...this.otherCertifications],e.revocationSignatures=
[...this.revocationSignatures],e}async certify(e,r,n){let s=this.mainKey.keyPacket,i={userID:this.userID,userAttribute:this.userAttribute,key:s},a=new t(i.userID||i.userAttribute,this.mainKey);return a.
otherCertifications=await Promise.all(e.map(async function(o){if(!o.isPrivate())throw new Error("Need private key for signing");if(o.hasSameFingerprintAs(s))throw new Error("The user's own key can onl\
y be used for self-certifications");let c=await o.getSigningKey(void 0,r,void 0,n);return ci(i,[o],c.keyPacket,{signatureType:l.signature.certGeneric,keyFlags:[l.keyFlags.certifyKeys|l.keyFlags.signData]},
r,void 0,void 0,void 0,n)})),await a.update(this,r,n),a}async isRevoked(e,r,n=new Date,s=L){let i=this.mainKey.keyPacket;return wn(i,l.signature.certRevocation,{key:i,userID:this.userID,userAttribute:this.
userAttribute},this.revocationSignatures,e,r,n,s)}async verifyCertificate(e,r,n=new Date,s){let i=this,a=this.mainKey.keyPacket,o={userID:this.userID,userAttribute:this.userAttribute,key:a},{issuerKeyID:c}=e,
u=r.filter(h=>h.getKeys(c).length>0);return u.length===0?null:(await Promise.all(u.map(async h=>{let f=await h.getSigningKey(c,e.created,void 0,s);if(e.revoked||await i.isRevoked(e,f.keyPacket,n,s))throw new Error(
"User certificate is revoked");try{await e.verify(f.keyPacket,l.signature.certGeneric,o,n,void 0,s)}catch(d){throw p.wrapError("User certificate is invalid",d)}})),!0)}async verifyAllCertifications(e,r=new Date,n){
let s=this,i=this.selfCertifications.concat(this.otherCertifications);return Promise.all(i.map(async a=>({keyID:a.issuerKeyID,valid:await s.verifyCertificate(a,e,r,n).catch(()=>!1)})))}async verify(e=new Date,r){
if(!this.selfCertifications.length)throw new Error("No self-certifications found");let n=this,s=this.mainKey.keyPacket,i={userID:this.userID,userAttribute:this.userAttribute,key:s},a;for(let o=this.selfCertifications.
length-1;o>=0;o--)try{let c=this.selfCertifications[o];if(c.revoked||await n.isRevoked(c,void 0,e,r))throw new Error("Self-certification is revoked");try{await c.verify(s,l.signature.certGeneric,i,e,void 0,
r)}catch(u){throw p.wrapError("Self-certification is invalid",u)}return!0}catch(c){a=c}throw a}async update(e,r,n){let s=this.mainKey.keyPacket,i={userID:this.userID,userAttribute:this.userAttribute,key:s};
await Ir(e,this,"selfCertifications",r,async function(a){try{return await a.verify(s,l.signature.certGeneric,i,r,!1,n),!0}catch{return!1}}),await Ir(e,this,"otherCertifications",r),await Ir(e,this,"re\
vocationSignatures",r,function(a){return wn(s,l.signature.certRevocation,i,[a],void 0,void 0,r,n)})}async revoke(e,{flag:r=l.reasonForRevocation.noReason,string:n=""}={},s=new Date,i=L){let a={userID:this.
userID,userAttribute:this.userAttribute,key:e},o=new t(a.userID||a.userAttribute,this.mainKey);return o.revocationSignatures.push(await ci(a,[],e,{signatureType:l.signature.certRevocation,reasonForRevocationFlag:l.
write(l.reasonForRevocation,r),reasonForRevocationString:n},s,void 0,void 0,!1,i)),await o.update(this),o}},Wn=class t{constructor(e,r){this.keyPacket=e,this.bindingSignatures=[],this.revocationSignatures=
[],this.mainKey=r}toPacketList(){let e=new ue;return e.push(this.keyPacket),e.push(...this.revocationSignatures),e.push(...this.bindingSignatures),e}clone(){let e=new t(this.keyPacket,this.mainKey);return e.
bindingSignatures=[...this.bindingSignatures],e.revocationSignatures=[...this.revocationSignatures],e}async isRevoked(e,r,n=new Date,s=L){let i=this.mainKey.keyPacket;return wn(i,l.signature.subkeyRevocation,
{key:i,bind:this.keyPacket},this.revocationSignatures,e,r,n,s)}async verify(e=new Date,r=L){let n=this.mainKey.keyPacket,s={key:n,bind:this.keyPacket},i=await mt(this.bindingSignatures,n,l.signature.subkeyBinding,
s,e,r);if(i.revoked||await this.isRevoked(i,null,e,r))throw new Error("Subkey is revoked");if(Ya(this.keyPacket,i,e))throw new Error("Subkey is expired");return i}async getExpirationTime(e=new Date,r=L){
let n=this.mainKey.keyPacket,s={key:n,bind:this.keyPacket},i;try{i=await mt(this.bindingSignatures,n,l.signature.subkeyBinding,s,e,r)}catch{return null}let a=li(this.keyPacket,i),o=i.getExpirationTime();
return a<o?a:o}async update(e,r=new Date,n=L){let s=this.mainKey.keyPacket;if(!this.hasSameFingerprintAs(e))throw new Error("Subkey update method: fingerprints of subkeys not equal");this.keyPacket.constructor.
tag===l.packet.publicSubkey&&e.keyPacket.constructor.tag===l.packet.secretSubkey&&(this.keyPacket=e.keyPacket);let i=this,a={key:s,bind:i.keyPacket};await Ir(e,this,"bindingSignatures",r,async function(o){
for(let c=0;c<i.bindingSignatures.length;c++)if(i.bindingSignatures[c].issuerKeyID.equals(o.issuerKeyID))return o.created>i.bindingSignatures[c].created&&(i.bindingSignatures[c]=o),!1;try{return await o.
verify(s,l.signature.subkeyBinding,a,r,void 0,n),!0}catch{return!1}}),await Ir(e,this,"revocationSignatures",r,function(o){return wn(s,l.signature.subkeyRevocation,a,[o],void 0,void 0,r,n)})}async revoke(e,{
flag:r=l.reasonForRevocation.noReason,string:n=""}={},s=new Date,i=L){let a={key:e,bind:this.keyPacket},o=new t(this.keyPacket,this.mainKey);return o.revocationSignatures.push(await ci(a,[],e,{signatureType:l.
signature.subkeyRevocation,reasonForRevocationFlag:l.write(l.reasonForRevocation,r),reasonForRevocationString:n},s,void 0,void 0,!1,i)),await o.update(this),o}hasSameFingerprintAs(e){return this.keyPacket.
hasSameFingerprintAs(e.keyPacket||e)}};["getKeyID","getFingerprint","getAlgorithmInfo","getCreationTime","isDecrypted"].forEach(t=>{Wn.prototype[t]=function(){return this.keyPacket[t]()}});var ug=p.constructAllowedPackets(
[_e]),Pl=new Set([l.packet.publicKey,l.packet.secretKey]),Tl=new Set([l.packet.publicKey,l.packet.secretKey,l.packet.publicSubkey,l.packet.secretSubkey]),Ja=class{packetListToStructure(e,r=new Set){let n,
s,i,a;for(let o of e){if(o instanceof On){Tl.has(o.tag)&&!a&&(Pl.has(o.tag)?a=Pl:a=Tl);continue}let c=o.constructor.tag;if(a){if(!a.has(c))continue;a=null}if(r.has(c))throw new Error(`Unexpected packe\
t type: ${c}`);switch(c){case l.packet.publicKey:case l.packet.secretKey:if(this.keyPacket)throw new Error("Key block contains multiple keys");if(this.keyPacket=o,s=this.getKeyID(),!s)throw new Error(
"Missing Key ID");break;case l.packet.userID:case l.packet.userAttribute:n=new qa(o,this),this.users.push(n);break;case l.packet.publicSubkey:case l.packet.secretSubkey:n=null,i=new Wn(o,this),this.subkeys.
push(i);break;case l.packet.signature:switch(o.signatureType){case l.signature.certGeneric:case l.signature.certPersona:case l.signature.certCasual:case l.signature.certPositive:if(!n){p.printDebug("D\
ropping certification signatures without preceding user packet");continue}o.issuerKeyID.equals(s)?n.selfCertifications.push(o):n.otherCertifications.push(o);break;case l.signature.certRevocation:n?n.revocationSignatures.
push(o):this.directSignatures.push(o);break;case l.signature.key:this.directSignatures.push(o);break;case l.signature.subkeyBinding:if(!i){p.printDebug("Dropping subkey binding signature without prece\
ding subkey packet");continue}i.bindingSignatures.push(o);break;case l.signature.keyRevocation:this.revocationSignatures.push(o);break;case l.signature.subkeyRevocation:if(!i){p.printDebug("Dropping s\
ubkey revocation signature without preceding subkey packet");continue}i.revocationSignatures.push(o);break}break}}}toPacketList(){let e=new ue;return e.push(this.keyPacket),e.push(...this.revocationSignatures),
e.push(...this.directSignatures),this.users.map(r=>e.push(...r.toPacketList())),this.subkeys.map(r=>e.push(...r.toPacketList())),e}clone(e=!1){let r=new this.constructor(this.toPacketList());return e&&
r.getKeys().forEach(n=>{if(n.keyPacket=Object.create(Object.getPrototypeOf(n.keyPacket),Object.getOwnPropertyDescriptors(n.keyPacket)),!n.keyPacket.isDecrypted())return;let s={};Object.keys(n.keyPacket.
privateParams).forEach(i=>{s[i]=new Uint8Array(n.keyPacket.privateParams[i])}),n.keyPacket.privateParams=s}),r}getSubkeys(e=null){return this.subkeys.filter(n=>!e||n.getKeyID().equals(e,!0))}getKeys(e=null){
let r=[];return(!e||this.getKeyID().equals(e,!0))&&r.push(this),r.concat(this.getSubkeys(e))}getKeyIDs(){return this.getKeys().map(e=>e.getKeyID())}getUserIDs(){return this.users.map(e=>e.userID?e.userID.
userID:null).filter(e=>e!==null)}write(){return this.toPacketList().write()}async getSigningKey(e=null,r=new Date,n={},s=L){await this.verifyPrimaryKey(r,n,s);let i=this.keyPacket;try{tn(i,s)}catch(c){
throw p.wrapError("Could not verify primary key",c)}let a=this.subkeys.slice().sort((c,u)=>u.keyPacket.created-c.keyPacket.created||u.keyPacket.algorithm-c.keyPacket.algorithm),o;for(let c of a)if(!e||
c.getKeyID().equals(e))try{await c.verify(r,s);let u={key:i,bind:c.keyPacket},h=await mt(c.bindingSignatures,i,l.signature.subkeyBinding,u,r,s);if(!Dl(c.keyPacket,h,s))continue;if(!h.embeddedSignature)
throw new Error("Missing embedded signature");return await mt([h.embeddedSignature],c.keyPacket,l.signature.keyBinding,u,r,s),tn(c.keyPacket,s),c}catch(u){o=u}try{let c=await this.getPrimarySelfSignature(
r,n,s);if((!e||i.getKeyID().equals(e))&&Dl(i,c,s))return tn(i,s),this}catch(c){o=c}throw p.wrapError("Could not find valid signing key packet in key "+this.getKeyID().toHex(),o)}async getEncryptionKey(e,r=new Date,n={},s=L){
await this.verifyPrimaryKey(r,n,s);let i=this.keyPacket;try{tn(i,s)}catch(c){throw p.wrapError("Could not verify primary key",c)}let a=this.subkeys.slice().sort((c,u)=>u.keyPacket.created-c.keyPacket.
created||u.keyPacket.algorithm-c.keyPacket.algorithm),o;for(let c of a)if(!e||c.getKeyID().equals(e))try{await c.verify(r,s);let u={key:i,bind:c.keyPacket},h=await mt(c.bindingSignatures,i,l.signature.
subkeyBinding,u,r,s);if(Kl(c.keyPacket,h,s))return tn(c.keyPacket,s),c}catch(u){o=u}try{let c=await this.getPrimarySelfSignature(r,n,s);if((!e||i.getKeyID().equals(e))&&Kl(i,c,s))return tn(i,s),this}catch(c){
o=c}throw p.wrapError("Could not find valid encryption key packet in key "+this.getKeyID().toHex(),o)}async isRevoked(e,r,n=new Date,s=L){return wn(this.keyPacket,l.signature.keyRevocation,{key:this.keyPacket},
this.revocationSignatures,e,r,n,s)}async verifyPrimaryKey(e=new Date,r={},n=L){let s=this.keyPacket;if(await this.isRevoked(null,null,e,n))throw new Error("Primary key is revoked");let i=await this.getPrimarySelfSignature(
e,r,n);if(Ya(s,i,e))throw new Error("Primary key is expired");if(s.version!==6){let a=await mt(this.directSignatures,s,l.signature.key,{key:s},e,n).catch(()=>{});if(a&&Ya(s,a,e))throw new Error("Prima\
ry key is expired")}}async getExpirationTime(e,r=L){let n;try{let s=await this.getPrimarySelfSignature(null,e,r),i=li(this.keyPacket,s),a=s.getExpirationTime(),o=this.keyPacket.version!==6&&await mt(this.
directSignatures,this.keyPacket,l.signature.key,{key:this.keyPacket},null,r).catch(()=>{});if(o){let c=li(this.keyPacket,o);n=Math.min(i,a,c)}else n=i<a?i:a}catch{n=null}return p.normalizeDate(n)}async getPrimarySelfSignature(e=new Date,r={},n=L){
let s=this.keyPacket;if(s.version===6)return mt(this.directSignatures,s,l.signature.key,{key:s},e,n);let{selfCertification:i}=await this.getPrimaryUser(e,r,n);return i}async getPrimaryUser(e=new Date,r={},n=L){
let s=this.keyPacket,i=[],a;for(let h=0;h<this.users.length;h++)try{let f=this.users[h];if(!f.userID)continue;if(r.name!==void 0&&f.userID.name!==r.name||r.email!==void 0&&f.userID.email!==r.email||r.
comment!==void 0&&f.userID.comment!==r.comment)throw new Error("Could not find user that matches that user ID");let d={userID:f.userID,key:s},g=await mt(f.selfCertifications,s,l.signature.certGeneric,
d,e,n);i.push({index:h,user:f,selfCertification:g})}catch(f){a=f}if(!i.length)throw a||new Error("Could not find primary user");await Promise.all(i.map(async h=>{h.selfCertification.revoked||await h.user.
isRevoked(h.selfCertification,null,e,n)}));let o=i.sort(function(h,f){let d=h.selfCertification,g=f.selfCertification;return g.revoked-d.revoked||d.isPrimaryUserID-g.isPrimaryUserID||d.created-g.created}).
pop(),{user:c,selfCertification:u}=o;if(u.revoked||await c.isRevoked(u,null,e,n))throw new Error("Primary user is revoked");return o}async update(e,r=new Date,n=L){if(!this.hasSameFingerprintAs(e))throw new Error(
"Primary key fingerprints must be equal to update the key");if(!this.isPrivate()&&e.isPrivate()){if(!(this.subkeys.length===e.subkeys.length&&this.subkeys.every(a=>e.subkeys.some(o=>a.hasSameFingerprintAs(
o)))))throw new Error("Cannot update public key with private key if subkeys mismatch");return e.update(this,n)}let s=this.clone();return await Ir(e,s,"revocationSignatures",r,i=>wn(s.keyPacket,l.signature.
keyRevocation,s,[i],null,e.keyPacket,r,n)),await Ir(e,s,"directSignatures",r),await Promise.all(e.users.map(async i=>{let a=s.users.filter(o=>i.userID&&i.userID.equals(o.userID)||i.userAttribute&&i.userAttribute.
equals(o.userAttribute));if(a.length>0)await Promise.all(a.map(o=>o.update(i,r,n)));else{let o=i.clone();o.mainKey=s,s.users.push(o)}})),await Promise.all(e.subkeys.map(async i=>{let a=s.subkeys.filter(
o=>o.hasSameFingerprintAs(i));if(a.length>0)await Promise.all(a.map(o=>o.update(i,r,n)));else{let o=i.clone();o.mainKey=s,s.subkeys.push(o)}})),s}async getRevocationCertificate(e=new Date,r=L){let n={
key:this.keyPacket},s=await mt(this.revocationSignatures,this.keyPacket,l.signature.keyRevocation,n,e,r),i=new ue;i.push(s);let a=this.keyPacket.version!==6;return Za(l.armor.publicKey,i.write(),null,
null,"This is a revocation certificate",a,r)}async applyRevocationCertificate(e,r=new Date,n=L){let s=await Xa(e),a=(await ue.fromBinary(s.data,ug,n)).findPacket(l.packet.signature);if(!a||a.signatureType!==
l.signature.keyRevocation)throw new Error("Could not find revocation signature packet");if(!a.issuerKeyID.equals(this.getKeyID()))throw new Error("Revocation signature does not match key");try{await a.
verify(this.keyPacket,l.signature.keyRevocation,{key:this.keyPacket},r,void 0,n)}catch(c){throw p.wrapError("Could not verify revocation signature",c)}let o=this.clone();return o.revocationSignatures.
push(a),o}async signPrimaryUser(e,r,n,s=L){let{index:i,user:a}=await this.getPrimaryUser(r,n,s),o=await a.certify(e,r,s),c=this.clone();return c.users[i]=o,c}async signAllUsers(e,r=new Date,n=L){let s=this.
clone();return s.users=await Promise.all(this.users.map(function(i){return i.certify(e,r,n)})),s}async verifyPrimaryUser(e,r=new Date,n,s=L){let i=this.keyPacket,{user:a}=await this.getPrimaryUser(r,n,
s);return e?await a.verifyAllCertifications(e,r,s):[{keyID:i.getKeyID(),valid:await a.verify(r,s).catch(()=>!1)}]}async verifyAllUsers(e,r=new Date,n=L){let s=this.keyPacket,i=[];return await Promise.
all(this.users.map(async a=>{let o=e?await a.verifyAllCertifications(e,r,n):[{keyID:s.getKeyID(),valid:await a.verify(r,n).catch(()=>!1)}];i.push(...o.map(c=>({userID:a.userID?a.userID.userID:null,userAttribute:a.
userAttribute,keyID:c.keyID,valid:c.valid})))})),i}};["getKeyID","getFingerprint","getAlgorithmInfo","getCreationTime","hasSameFingerprintAs"].forEach(t=>{Ja.prototype[t]=Wn.prototype[t]});var hg=p.constructAllowedPackets([Tr,Ur,Wa,yn,Va,jn,Gn,it,_e]),fg=p.constructAllowedPackets([Gn]),pg=p.constructAllowedPackets([_e]),ui=class t{constructor(e){this.packets=e||new ue}getEncryptionKeyIDs(){
let e=[];return this.packets.filterByTag(l.packet.publicKeyEncryptedSessionKey).forEach(function(n){e.push(n.publicKeyID)}),e}getSigningKeyIDs(){let e=this.unwrapCompressed(),r=e.packets.filterByTag(l.
packet.onePassSignature);return r.length>0?r.map(s=>s.issuerKeyID):e.packets.filterByTag(l.packet.signature).map(s=>s.issuerKeyID)}async decrypt(e,r,n,s=new Date,i=L){let a=this.packets.filterByTag(l.
packet.symmetricallyEncryptedData,l.packet.symEncryptedIntegrityProtectedData,l.packet.aeadEncryptedData);if(a.length===0)throw new Error("No encrypted data found");let o=a[0],c=o.cipherAlgorithm,u=n||
await this.decryptSessionKeys(e,r,c,s,i),h=null,f=Promise.all(u.map(async({algorithm:g,data:w})=>{if(!p.isUint8Array(w)||!o.cipherAlgorithm&&!p.isString(g))throw new Error("Invalid session key for dec\
ryption.");try{let b=o.cipherAlgorithm||l.write(l.symmetric,g);await o.decrypt(b,w,i)}catch(b){p.printDebugError(b),h=b}}));if(Da(o.encrypted),o.encrypted=null,await f,!o.packets||!o.packets.length)throw h||
new Error("Decryption failed.");let d=new t(o.packets);return o.packets=new ue,d}async decryptSessionKeys(e,r,n,s=new Date,i=L){let a=[],o;if(r){let c=this.packets.filterByTag(l.packet.symEncryptedSessionKey);
if(c.length===0)throw new Error("No symmetrically encrypted session key packet found.");await Promise.all(r.map(async function(u,h){let f;h?f=await ue.fromBinary(c.write(),fg,i):f=c,await Promise.all(
f.map(async function(d){try{await d.decrypt(u,i),a.push(d)}catch(g){p.printDebugError(g),g instanceof un&&(o=g)}}))}))}else if(e){let c=this.packets.filterByTag(l.packet.publicKeyEncryptedSessionKey);
if(c.length===0)throw new Error("No public key encrypted session key packet found.");await Promise.all(c.map(async function(u){await Promise.all(e.map(async function(h){let f;try{f=(await h.getDecryptionKeys(
u.publicKeyID,null,void 0,i)).map(g=>g.keyPacket)}catch(g){o=g;return}let d=[l.symmetric.aes256,l.symmetric.aes128,l.symmetric.tripledes,l.symmetric.cast5];try{let g=await h.getPrimarySelfSignature(s,
void 0,i);g.preferredSymmetricAlgorithms&&(d=d.concat(g.preferredSymmetricAlgorithms))}catch{}await Promise.all(f.map(async function(g){if(!g.isDecrypted())throw new Error("Decryption key is not decry\
pted.");if(i.constantTimePKCS1Decryption&&(u.publicKeyAlgorithm===l.publicKey.rsaEncrypt||u.publicKeyAlgorithm===l.publicKey.rsaEncryptSign||u.publicKeyAlgorithm===l.publicKey.rsaSign||u.publicKeyAlgorithm===
l.publicKey.elgamal)){let b=u.write();await Promise.all((n?[n]:Array.from(i.constantTimePKCS1DecryptionSupportedSymmetricAlgorithms)).map(async A=>{let k=new jn;k.read(b);let E={sessionKeyAlgorithm:A,
sessionKey:_a(A)};try{await k.decrypt(g,E),a.push(k)}catch(S){p.printDebugError(S),o=S}}))}else try{await u.decrypt(g);let b=n||u.sessionKeyAlgorithm;if(b&&!d.includes(l.write(l.symmetric,b)))throw new Error(
"A non-preferred symmetric algorithm was used.");a.push(u)}catch(b){p.printDebugError(b),o=b}}))})),Da(u.encrypted),u.encrypted=null}))}else throw new Error("No key or password specified.");if(a.length>
0){if(a.length>1){let c=new Set;a=a.filter(u=>{let h=u.sessionKeyAlgorithm+p.uint8ArrayToString(u.sessionKey);return c.has(h)?!1:(c.add(h),!0)})}return a.map(c=>({data:c.sessionKey,algorithm:c.sessionKeyAlgorithm&&
l.read(l.symmetric,c.sessionKeyAlgorithm)}))}throw o||new Error("Session key decryption failed.")}getLiteralData(){let r=this.unwrapCompressed().packets.findPacket(l.packet.literalData);return r&&r.getBytes()||
null}getFilename(){let r=this.unwrapCompressed().packets.findPacket(l.packet.literalData);return r&&r.getFilename()||null}getText(){let r=this.unwrapCompressed().packets.findPacket(l.packet.literalData);
return r?r.getText():null}static async generateSessionKey(e=[],r=new Date,n=[],s=L){let{symmetricAlgo:i,aeadAlgo:a}=await lg(e,r,n,s),o=l.read(l.symmetric,i),c=a?l.read(l.aead,a):void 0;return await Promise.
all(e.map(h=>h.getEncryptionKey().catch(()=>null).then(f=>{if(f&&(f.keyPacket.algorithm===l.publicKey.x25519||f.keyPacket.algorithm===l.publicKey.x448)&&!c&&!p.isAES(i))throw new Error("Could not gene\
rate a session key compatible with the given `encryptionKeys`: X22519 and X448 keys can only be used to encrypt AES session keys; change `config.preferredSymmetricAlgorithm` accordingly.")}))),{data:_a(
i),algorithm:o,aeadAlgorithm:c}}async encrypt(e,r,n,s=!1,i=[],a=new Date,o=[],c=L){if(n){if(!p.isUint8Array(n.data)||!p.isString(n.algorithm))throw new Error("Invalid session key for encryption.")}else if(e&&
e.length)n=await t.generateSessionKey(e,a,o,c);else if(r&&r.length)n=await t.generateSessionKey(void 0,void 0,void 0,c);else throw new Error("No keys, passwords, or session key provided.");let{data:u,
algorithm:h,aeadAlgorithm:f}=n,d=await t.encryptSessionKey(u,h,f,e,r,s,i,a,o,c),g=yn.fromObject({version:f?2:1,aeadAlgorithm:f?l.write(l.aead,f):null});g.packets=this.packets;let w=l.write(l.symmetric,
h);return await g.encrypt(w,u,c),d.packets.push(g),g.packets=new ue,d}static async encryptSessionKey(e,r,n,s,i,a=!1,o=[],c=new Date,u=[],h=L){let f=new ue,d=l.write(l.symmetric,r),g=n&&l.write(l.aead,
n);if(s){let w=await Promise.all(s.map(async function(b,A){let k=await b.getEncryptionKey(o[A],c,u,h),E=jn.fromObject({version:g?6:3,encryptionKeyPacket:k.keyPacket,anonymousRecipient:a,sessionKey:e,sessionKeyAlgorithm:d});
return await E.encrypt(k.keyPacket),delete E.sessionKey,E}));f.push(...w)}if(i){let w=async function(E,S){try{return await E.decrypt(S,h),1}catch{return 0}},b=(E,S)=>E+S,A=async function(E,S,v,K){let U=new Gn(
h);return U.sessionKey=E,U.sessionKeyAlgorithm=S,v&&(U.aeadAlgorithm=v),await U.encrypt(K,h),h.passwordCollisionCheck&&(await Promise.all(i.map(D=>w(U,D)))).reduce(b)!==1?A(E,S,K):(delete U.sessionKey,
U)},k=await Promise.all(i.map(E=>A(e,d,g,E)));f.push(...k)}return new t(f)}async sign(e=[],r=[],n=null,s=[],i=new Date,a=[],o=[],c=[],u=L){let h=new ue,f=this.packets.findPacket(l.packet.literalData);
if(!f)throw new Error("No literal data packet to sign.");let d=await Ul(f,e,r,n,s,i,a,o,c,!1,u),g=d.map((w,b)=>it.fromSignaturePacket(w,b===0)).reverse();return h.push(...g),h.push(f),h.push(...d),new t(
h)}compress(e,r=L){if(e===l.compression.uncompressed)return this;let n=new Ur(r);n.algorithm=e,n.packets=this.packets;let s=new ue;return s.push(n),new t(s)}async signDetached(e=[],r=[],n=null,s=[],i=new Date,a=[],o=[],c=[],u=L){
let h=this.packets.findPacket(l.packet.literalData);if(!h)throw new Error("No literal data packet to sign.");return new oi(await Ul(h,e,r,n,s,i,a,o,c,!0,u))}async verify(e,r=new Date,n=L){let s=this.unwrapCompressed(),
i=s.packets.filterByTag(l.packet.literalData);if(i.length!==1)throw new Error("Can only verify message with one literal data packet.");let a=s.packets;ie(a.stream)&&(a=a.concat(await ge(a.stream,u=>u||
[])));let o=a.filterByTag(l.packet.onePassSignature).reverse(),c=a.filterByTag(l.packet.signature);return o.length&&!c.length&&p.isStream(a.stream)&&!ie(a.stream)?(await Promise.all(o.map(async u=>{u.
correspondingSig=new Promise((h,f)=>{u.correspondingSigResolve=h,u.correspondingSigReject=f}),u.signatureData=Lr(async()=>(await u.correspondingSig).signatureData),u.hashed=ge(await u.hash(u.signatureType,
i[0],void 0,!1)),u.hashed.catch(()=>{})})),a.stream=cr(a.stream,async(u,h)=>{let f=ut(u),d=$e(h);try{for(let g=0;g<o.length;g++){let{value:w}=await f.read();o[g].correspondingSigResolve(w)}await f.readToEnd(),
await d.ready,await d.close()}catch(g){o.forEach(w=>{w.correspondingSigReject(g)}),await d.abort(g)}}),Ia(o,i,e,r,!1,n)):Ia(c,i,e,r,!1,n)}async verifyDetached(e,r,n=new Date,s=L){let a=this.unwrapCompressed().
packets.filterByTag(l.packet.literalData);if(a.length!==1)throw new Error("Can only verify message with one literal data packet.");let o=e.packets.filterByTag(l.packet.signature);return Ia(o,a,r,n,!0,
s)}unwrapCompressed(){let e=this.packets.filterByTag(l.packet.compressedData);return e.length?new t(e[0].packets):this}async appendSignature(e,r=L){await this.packets.read(p.isUint8Array(e)?e:(await Xa(
e)).data,pg,r)}write(){return this.packets.write()}armor(e=L){let r=this.packets[this.packets.length-1],n=r.constructor.tag===yn.tag?r.version!==2:this.packets.some(s=>s.constructor.tag===_e.tag&&s.version!==
6);return Za(l.armor.message,this.write(),null,null,null,n,e)}};async function Ul(t,e,r=[],n=null,s=[],i=new Date,a=[],o=[],c=[],u=!1,h=L){let f=new ue,d=t.text===null?l.signature.binary:l.signature.text;
if(await Promise.all(e.map(async(g,w)=>{let b=a[w];if(!g.isPrivate())throw new Error("Need private key for signing");let A=await g.getSigningKey(s[w],i,b,h);return ci(t,r.length?r:[g],A.keyPacket,{signatureType:d},
i,o,c,u,h)})).then(g=>{f.push(...g)}),n){let g=n.packets.filterByTag(l.packet.signature);f.push(...g)}return f}function dg(t,e,r,n=new Date,s=!1,i=L){let a,o;for(let f of r){let d=f.getKeys(t.issuerKeyID);
if(d.length>0){a=f,o=d[0];break}}let u=t instanceof it?t.correspondingSig:t,h={keyID:t.issuerKeyID,verified:(async()=>{if(!o)throw new Error(`Could not find signing key with key ID ${t.issuerKeyID.toHex()}`);
await t.verify(o.keyPacket,t.signatureType,e[0],n,s,i);let f=await u;if(o.getCreationTime()>f.created)throw new Error("Key is newer than the signature");try{await a.getSigningKey(o.getKeyID(),f.created,
void 0,i)}catch(d){if(i.allowInsecureVerificationWithReformattedKeys&&d.message.match(/Signature creation time is in the future/))await a.getSigningKey(o.getKeyID(),n,void 0,i);else throw d}return!0})(),
signature:(async()=>{let f=await u,d=new ue;return f&&d.push(f),new oi(d)})()};return h.signature.catch(()=>{}),h.verified.catch(()=>{}),h}function Ia(t,e,r,n=new Date,s=!1,i=L){return t.filter(a=>["t\
ext","binary"].includes(l.read(l.signature,a.signatureType))).map(a=>dg(a,e,r,n,s,i))}async function Iu({armoredMessage:t,binaryMessage:e,config:r,...n}){r={...L,...r};let s=t||e;if(!s)throw new Error(
"readMessage: must pass options object containing `armoredMessage` or `binaryMessage`");if(t&&!p.isString(t)&&!p.isStream(t))throw new Error("readMessage: options.armoredMessage must be a string or st\
ream");if(e&&!p.isUint8Array(e)&&!p.isStream(e))throw new Error("readMessage: options.binaryMessage must be a Uint8Array or stream");let i=Object.keys(n);if(i.length>0)throw new Error(`Unknown option:\
 ${i.join(", ")}`);let a=p.isStream(s);if(t){let{type:u,data:h}=await Xa(s);if(u!==l.armor.message)throw new Error("Armored text not of type message");s=h}let o=await ue.fromBinary(s,hg,r,new dn),c=new ui(
o);return c.fromStream=a,c}async function Bu({message:t,decryptionKeys:e,passwords:r,sessionKeys:n,verificationKeys:s,expectSigned:i=!1,format:a="utf8",signature:o=null,date:c=new Date,config:u,...h}){if(u={...L,...u},wg(u),yg(
t),s=Us(s),e=Us(e),r=Us(r),n=Us(n),h.privateKeys)throw new Error("The `privateKeys` option has been removed from openpgp.decrypt, pass `decryptionKeys` instead");if(h.publicKeys)throw new Error("The `\
publicKeys` option has been removed from openpgp.decrypt, pass `verificationKeys` instead");let f=Object.keys(h);if(f.length>0)throw new Error(`Unknown option: ${f.join(", ")}`);try{let d=await t.decrypt(
e,r,n,c,u);s||(s=[]);let g={};if(g.signatures=o?await d.verifyDetached(o,s,c,u):await d.verify(s,c,u),g.data=a==="binary"?d.getLiteralData():d.getText(),g.filename=d.getFilename(),Ag(g,t,...new Set([d,
d.unwrapCompressed()])),i){if(s.length===0)throw new Error("Verification keys are required to verify message signatures");if(g.signatures.length===0)throw new Error("Message is not signed");g.data=Ce(
[g.data,Lr(async()=>(await p.anyPromise(g.signatures.map(w=>w.verified)),a==="binary"?new Uint8Array:""))])}return g.data=await mg(g.data),g}catch(d){throw p.wrapError("Error decrypting message",d)}}function yg(t){if(!(t instanceof ui))throw new Error("Parameter [message] needs to be of type Message")}var gg=Object.keys(L).length;function wg(t){let e=Object.keys(t);if(e.length!==gg){for(let r of e)if(L[r]===void 0)throw new Error(`Unknown config property: ${r}`)}}function Us(t){return t&&!p.isArray(
t)&&(t=[t]),t}async function mg(t){return p.isStream(t)==="array"?ge(t):t}function Ag(t,e,...r){t.data=cr(e.packets.stream,async(n,s)=>{await mn(t.data,s,{preventClose:!0});let i=$e(s);try{await ge(n,
a=>a),await Promise.all(r.map(a=>ge(a.packets.stream,o=>o))),await i.close()}catch(a){await i.abort(a)}})}var Rr=class{constructor(e){this.pieces=e,this.length=e.reduce((r,n)=>r+n.length,0)}toString(){return this.pieces.join("")}};function bg(t,e){let r=e instanceof Uint8Array?e:new Uint8Array(e),n=new TextDecoder(
t.encoding,{fatal:t.fatal,ignoreBOM:t.ignoreBOM}),s=[];for(let i=0;i<r.length;){let a=r.indexOf(10,i+32768),o=a<0?r.length:a+1,c=n.decode(r.subarray(i,o),{stream:o<r.length});c&&s.push(c),i=o}return new Rr(
s)}function Du(t,e){let r=t.contentType.parsed.params;return!t.content||t.content.byteLength<=262144||/^flowed$/i.test(r.format)?t.getTextContent():bg(e(r.charset),t.content)}var lr=new TextEncoder,Ku="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",Zn=new Uint8Array(256);for(let t=0;t<Ku.length;t++)Zn[Ku.charCodeAt(t)]=t;function Eg(t){let e=t.length;for(;e>
0&&t.charAt(e-1)==="=";)e--;e%4===1&&e--;let r=e%4,n=Math.floor(e/4)*3+(r?r-1:0),s=new ArrayBuffer(n),i=new Uint8Array(s),a=0;for(let o=0;o<e;o+=4){let c=Zn[t.charCodeAt(o)],u=Zn[t.charCodeAt(o+1)],h=Zn[t.
charCodeAt(o+2)],f=Zn[t.charCodeAt(o+3)];i[a++]=c<<2|u>>4,a<n&&(i[a++]=(u&15)<<4|h>>2),a<n&&(i[a++]=(h&3)<<6|f&63)}return s}var kg=new Map([["iso88598i","iso-8859-8"],["iso88598e","iso-8859-8"],["shif\
tjis","shift_jis"],["windows31j","shift_jis"],["mskanji","shift_jis"],["eucjp","euc-jp"],["iso2022jp","iso-2022-jp"],["iso2022jp1","iso-2022-jp"],["iso2022jp2","iso-2022-jp"],["junet","iso-2022-jp"],[
"euckr","euc-kr"],["uhc","euc-kr"],["tis620","windows-874"]]),xg=new Map([["932","shift_jis"],["936","gbk"],["949","euc-kr"],["950","big5"],["874","windows-874"],["51932","euc-jp"],["50220","iso-2022-\
jp"],["50221","iso-2022-jp"],["50222","iso-2022-jp"]]),Sg=/^(?:cp|windows|ms|ibm)(\d+)$/;function vg(t){return t.replace(/^(?:x-ms-|x-|cs)/,"").replace(/[\s._-]+/g,"")}var Cg=new Set(["unicode-1-1-utf\
-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8","866 cp866 csibm866 ibm866","csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 iso_8859-2:1987 l2 latin2","csisolatin3 iso-8859\
-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 iso_8859-3:1988 l3 latin3","csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 iso_8859-4:1988 l4 latin4","csisolatincyrillic cyrillic iso-8859\
-5 iso-ir-144 iso8859-5 iso88595 iso_8859-5 iso_8859-5:1988","arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 iso-8859-6 iso-8859-6-e","iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso\
_8859-6 iso_8859-6:1987","csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 iso8859-7 iso88597 iso_8859-7","iso_8859-7:1987 sun_eu_greek","csiso88598e csisolatinhebrew hebrew iso-88\
59-8 iso-8859-8-e iso-ir-138 iso8859-8 iso88598 iso_8859-8","iso_8859-8:1988 visual","csiso88598i iso-8859-8-i logical","csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6","iso-8859-13\
 iso8859-13 iso885913","iso-8859-14 iso8859-14 iso885914","csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9","iso-8859-16","cskoi8r koi koi8 koi8-r koi8_r","koi8-ru koi8-u","csmacintosh mac\
 macintosh x-mac-roman","dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874","cp1250 windows-1250 x-cp1250","cp1251 windows-1251 x-cp1251","ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm8\
19 iso-8859-1 iso-ir-100 iso8859-1 iso88591","iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252","cp1253 windows-1253 x-cp1253","cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 is\
o88599 iso_8859-9 iso_8859-9:1989 l5 latin5","windows-1254 x-cp1254","cp1255 windows-1255 x-cp1255","cp1256 windows-1256 x-cp1256","cp1257 windows-1257 x-cp1257","cp1258 windows-1258 x-cp1258","x-mac-\
cyrillic x-mac-ukrainian","chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk","gb18030","big5 big5-hkscs cn-big5 csbig5 x-x-big5","cseucpkdfmtjapanese euc-jp x-euc-jp","cs\
iso2022jp iso-2022-jp","csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis","cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 ksc5601 ksc_5601","windows-\
949","csiso2022kr hz-gb-2312 iso-2022-cn iso-2022-cn-ext iso-2022-kr replacement","unicodefffe utf-16be","csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le","x-user-defined"].join(" ").
split(" ")),Pu=new Map;function bo(t){if(!Cg.has(t))return null;let e=Pu.get(t);if(e===void 0){e=null;try{e=new TextDecoder(t)}catch{}Pu.set(t,e)}return e}var Ig=new TextDecoder;function An(t){t=(t||"\
utf8").trim().toLowerCase();let e=bo(t);if(e)return e;let r=vg(t),n=r.match(Sg),s=n&&xg.get(n[1])||kg.get(r)||r;return bo(s)||bo("windows-1252")||Ig}async function bi(t){if("arrayBuffer"in t)return await t.
arrayBuffer();let e=new FileReader;return new Promise((r,n)=>{e.onload=()=>{r(e.result)},e.onerror=()=>{n(e.error)},e.readAsArrayBuffer(t)})}function _r(t){return t>=48&&t<=57?t-48:t>=97&&t<=102?t-97+
10:t>=65&&t<=70?t-65+10:-1}function Eo(t,e,r){let n=t.indexOf("*");n>=0&&(t=t.slice(0,n)),e=e.toUpperCase();let s;if(e==="Q"){r=r.replace(/=\s+([0-9a-fA-F])/g,"=$1").replace(/[_\s]/g," ");let i=lr.encode(
r),a=[];for(let c=0,u=i.length;c<u;c++){let h=i[c];if(c<=u-2&&h===61){let f=_r(i[c+1]),d=_r(i[c+2]);if(f>=0&&d>=0){a.push(f<<4|d),c+=2;continue}}a.push(h)}s=new ArrayBuffer(a.length);let o=new DataView(
s);for(let c=0,u=a.length;c<u;c++)o.setUint8(c,a[c])}else e==="B"?s=Eg(r.replace(/[^a-zA-Z0-9\+\/=]+/g,"")):s=lr.encode(r);return An(t).decode(s)}var Mu="=\\?([^?\\s]+)\\?([QqBb])\\?([^?]*)\\?=",Tu=new RegExp(
Mu,"g"),Bg=/^[ \t\r\n]+$/,Dg=new RegExp(`^(?:${Mu}\\s*)+$`);function Ru(t){return Dg.test(t)}function Kg(t){let e=[];Tu.lastIndex=0;let r=0,n;for(;n=Tu.exec(t);)n.index>r&&e.push({text:t.substring(r,n.
index)}),e.push({charset:n[1],encoding:n[2],encodedText:n[3]}),r=n.index+n[0].length;return r<t.length&&e.push({text:t.substring(r)}),e}function Pg(t,e){let r=t.encoding.toUpperCase();return t.charset!==
e.charset||r!==e.encoding.toUpperCase()?!1:r==="B"?t.encodedText.length%4===0&&!/=$/.test(t.encodedText):!0}function Uu(t,e){let r="",n=null;for(let s=0;s<t.length;s++){let i=t[s];if(i.text!==void 0){
let a=t[s+1];if(n&&a&&a.text===void 0&&Bg.test(i.text))continue;n&&(r+=Eo(n.charset,n.encoding,n.encodedText),n=null),r+=i.text;continue}if(n&&e&&Pg(n,i)){n.encodedText+=i.encodedText;continue}n&&(r+=
Eo(n.charset,n.encoding,n.encodedText)),n={charset:i.charset,encoding:i.encoding,encodedText:i.encodedText}}return n&&(r+=Eo(n.charset,n.encoding,n.encodedText)),r}function ur(t){let e=Kg((t||"").toString()),
r=Uu(e,!0);return r.indexOf("\uFFFD")<0?r:Uu(e,!1)}function Lu(t,e){e=e||"utf-8";let r=[];for(let i=0;i<t.length;i++){let a=t.charAt(i),o=a==="%"?_r(t.charCodeAt(i+1)):-1,c=o>=0?_r(t.charCodeAt(i+2)):
-1;if(c>=0)r.push(o<<4|c),i+=2;else if(a.charCodeAt(0)>126){let u=lr.encode(a);for(let h=0;h<u.length;h++)r.push(u[h])}else r.push(a.charCodeAt(0))}let n=new ArrayBuffer(r.length),s=new DataView(n);for(let i=0,
a=r.length;i<a;i++)s.setUint8(i,r[i]);return An(e).decode(n)}function _u(t){let e=new Map;Object.keys(t.params).forEach(r=>{let n=r.match(/\*((\d+)\*?)?$/);if(!n)return;let s=r.slice(0,n.index).toLowerCase(),
i=Number(n[2])||0,a=e.get(s);a||(a={charset:null,values:[]},e.set(s,a));let o=t.params[r],c=n[0].charAt(n[0].length-1)==="*";i===0&&c&&(n=o.match(/^([^']*)'[^']*'(.*)$/))&&(a.charset=n[1]||"utf-8",o=n[2]),
a.values.push({nr:i,value:o,encoded:c}),delete t.params[r]}),e.forEach((r,n)=>{let s="",i="";for(let a of r.values.sort((o,c)=>o.nr-c.nr)){if(a.encoded){i+=a.value;continue}i&&(s+=Lu(i,r.charset),i=""),
s+=a.value}i&&(s+=Lu(i,r.charset)),t.params[n]=s})}var es=class{constructor(){this.parts=[],this.size=0}update(e){this.parts.push(e),this.size+=e.length+1}updateRun(e){this.parts.push(new hr(e)),this.size+=e.length-Tg(e)}finalize(){let e=this.compactInPlace();
if(e)return this.parts=[],Promise.resolve(e);let r=new Uint8Array(this.size),n=0;for(let s of this.parts)s instanceof hr?n=Fu(s.bytes,r,n):(r.set(s,n),n+=s.length,r[n++]=10);return this.parts=[],Promise.
resolve(r.buffer)}compactInPlace(){let e=this.parts[0];if(!(e instanceof hr))return null;let r=e.bytes.buffer,n=new Uint8Array(r),s=e.bytes.byteOffset,i=s;for(let o of this.parts){let c=o instanceof hr?
o.bytes:o;if(c.buffer!==r||c.byteOffset!==i)return null;if(i+=c.length,!(o instanceof hr)){for(;i<n.length&&n[i]===13;)i++;if(n[i]!==10)return null;i++}}let a=s;for(let o of this.parts)o instanceof hr?
a=Fu(o.bytes,n,a):(n.copyWithin(a,o.byteOffset,o.byteOffset+o.length),a+=o.length,n[a++]=10);return new Uint8Array(r,s,a-s)}},hr=class{constructor(e){this.bytes=e}};function Tg(t){let e=0;for(let r=t.
indexOf(13);r>=0;){let n=r+1;for(;n<t.length&&t[n]===13;)n++;t[n]===10&&(e+=n-r),r=t.indexOf(13,n)}return e}function Fu(t,e,r){if(t.indexOf(13)<0)return t.buffer===e.buffer?e.copyWithin(r,t.byteOffset,
t.byteOffset+t.length):e.set(t,r),r+t.length;let n=t.length;for(let s=0;s<n;s++){let i=t[s];if(i===13){let a=s+1;for(;a<n&&t[a]===13;)a++;if(t[a]!==10)for(;s<a;s++)e[r++]=13;s=a-1;continue}e[r++]=i}return r}var ts=class{constructor(){this.lines=[],this.size=0,this.chunks=[],this.remainder=""}update(e){this.lines.push(e),this.size+=e.length,this.size>=1048576&&this.batch()}batch(){if(!this.lines.length)return;
let e=new Uint8Array(this.size),r=0;for(let o of this.lines)e.set(o,r),r+=o.length;this.lines=[],this.size=0;let s=new TextDecoder("latin1").decode(e).replace(/[^a-zA-Z0-9+/=]+/g,"").split(/=+/);for(let o=0;o<
s.length-1;o++)this.push(this.remainder+s[o]),this.remainder="";let i=this.remainder+s[s.length-1],a=i.length-i.length%4;this.push(i.slice(0,a)),this.remainder=i.slice(a)}push(e){e.length&&this.chunks.
push(Ug(e))}finalize(){return this.batch(),this.push(this.remainder),this.remainder="",new Blob(this.chunks,{type:"application/octet-stream"}).arrayBuffer()}};function Ug(t){let e=t.length%4===1?t.length-
1:t.length;if(typeof Uint8Array.fromBase64=="function")return Uint8Array.fromBase64(e===t.length?t:t.slice(0,e));let r=new Uint8Array(Math.floor(e/4)*3+(e%4?e%4-1:0)),n=0;for(let s=0;s<e;s+=4){let i=Ei(
t,s),a=Ei(t,s+1),o=s+2<e?Ei(t,s+2):0,c=s+3<e?Ei(t,s+3):0;r[n++]=i<<2|a>>4,n<r.length&&(r[n++]=(a&15)<<4|o>>2),n<r.length&&(r[n++]=(o&3)<<6|c)}return r}var Lg=(()=>{let t=new Uint8Array(128),e="ABCDEFG\
HIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";for(let r=0;r<e.length;r++)t[e.charCodeAt(r)]=r;return t})();function Ei(t,e){return Lg[t.charCodeAt(e)&127]}var Nu=61,Mg=10,rs=class{constructor(){this.maxChunkSize=100*1024,this.buffer=new Uint8Array(this.maxChunkSize),this.bufferPos=0,this.chunks=[]}writeByte(e){this.bufferPos>=this.buffer.length&&this.flushBuffer(),
this.buffer[this.bufferPos++]=e}writeBytes(e,r,n){for(;r<n;){this.bufferPos>=this.buffer.length&&this.flushBuffer();let s=Math.min(n-r,this.buffer.length-this.bufferPos);this.buffer.set(e.subarray(r,r+
s),this.bufferPos),this.bufferPos+=s,r+=s}}flushBuffer(){this.bufferPos&&(this.chunks.push(this.buffer.slice(0,this.bufferPos)),this.bufferPos=0)}update(e){let r=e.length,n=r>0&&e[r-1]===Nu;n&&r--;let s=0;
for(let i=0;i<r;i++){if(e[i]!==Nu||i+2>=r)continue;let a=_r(e[i+1]),o=_r(e[i+2]);a<0||o<0||(this.writeBytes(e,s,i),this.writeByte(a<<4|o),i+=2,s=i+1)}this.writeBytes(e,s,r),n||this.writeByte(Mg)}finalize(){
return this.flushBuffer(),bi(new Blob(this.chunks,{type:"application/octet-stream"}))}};var Rg=new TextDecoder("utf-8",{ignoreBOM:!0}),Ou=t=>t===32||t===9,ko=t=>{let e=0,r=t.length;for(;e<r&&Ou(t.charCodeAt(e));)e++;for(;r>e&&Ou(t.charCodeAt(r-1));)r--;return t.slice(e,r)},_g=new Set(["c\
ontent-type","content-transfer-encoding","content-disposition","content-id","content-description"]),bn=class{constructor(e){if(this.options=e,this.postalMime=e.postalMime,this.childNodes=[],this.finalizedChildCount=
0,e.parentNode){if(this.parentNode=e.parentNode,this.depth=this.parentNode.depth+1,this.depth>e.maxNestingDepth)throw new Error(`Maximum MIME nesting depth of ${e.maxNestingDepth} levels exceeded`);e.
parentNode.childNodes.push(this)}else this.depth=0;this.state="header",this.headerLines=[];let n=(e.parentMultipartType||null)==="digest"?"message/rfc822":"text/plain";this.contentType={value:n,parsed:{
value:n,params:{}},multipart:!1},this.contentTransferEncoding={value:"8bit",encoding:""},this.contentDisposition={value:"",parsed:{value:"",params:{}}},this.headers=[],this.rawHeaderLines=[],this.contentDecoder=
null,this.content=null}setupContentDecoder(e){/base64/i.test(e)?this.contentDecoder=new ts:/quoted-printable/i.test(e)?this.contentDecoder=new rs:this.contentDecoder=new es}async finalize(){if(this.state===
"finished")return;this.state==="header"&&this.processHeaders();let e=this.postalMime.boundaries;for(let r=e.length-1;r>=0;r--)if(e[r].node===this){e.splice(r,1);break}await this.finalizeChildNodes(),this.
content=this.contentDecoder?await this.contentDecoder.finalize():null,this.contentDecoder=null,this.state="finished"}async finalizeChildNodes(){for(;this.finalizedChildCount<this.childNodes.length;)await this.
childNodes[this.finalizedChildCount++].finalize()}stripComments(e){let r="",n=0,s=!1,i=!1,a=-1,o=!1,c=!1,u=f=>{r+=f,c=f===" "||f==="\x09"},h=()=>!o||!r.length||c;for(let f=0;f<e.length;f++){let d=e.charAt(
f);if(s){n===0&&u(d),s=!1;continue}if(d==="\\"){s=!0,n===0&&u(d);continue}if(d==='"'&&n===0){i=!i,u(d);continue}if(!i){if(d==="("&&h()){n===0&&(a=f),n++;continue}if(d===")"&&n>0){n--;continue}n===0&&(d===
"="?o=!0:d===";"&&(o=!1))}n===0&&u(d)}return n===0||e.indexOf(";",a)<0?r:e}parseStructuredHeader(e){e=this.stripComments(e);let r={value:"",params:{}},n=!1,s="",i="value",a="",o=!1,c=!1,u=!1,h,f=A=>{s.
length&&(s+=a),a="",s+=A},d=()=>{let A=s;return s="",a="",o=!1,A},g=(A,k)=>{Object.prototype.hasOwnProperty.call(r.params,A)||(r.params[A]=k)},w=()=>{let A=d();n===!1?r.value=A:g(n,A)},b=()=>{let A=d().
trim();A&&g(A.toLowerCase(),"")};for(let A=0,k=e.length;A<k;A++)switch(h=e.charAt(A),i){case"key":if(h==="="){n=d().trim().toLowerCase(),i="value";break}if(h===";"){b();break}s+=h;break;case"value":if(u)
f(h);else if(c&&h==="\\"){u=!0;continue}else c&&h===c?(c=!1,o=!0):!c&&h==='"'?(c=h,s.length&&(s+=a),a=""):!c&&h===";"?(w(),i="key"):!c&&(h===" "||h==="\x09")?a+=h:o||f(h);u=!1;break}return i==="value"?w():
b(),r.value&&(r.value=r.value.toLowerCase()),_u(r),r}decodeFlowedText(e,r){let n=[],s=0,i=0,a=e.split(/\r?\n/);for(let o=0;o<a.length;o++){let c=a[o];if(c.charAt(0)===" "&&(c=c.slice(1)),o){let u=n.length?
n[n.length-1]:"",h=i===3&&n.slice(s).join("")==="-- ";u.endsWith(" ")&&!h?r&&(u.length>1?n[n.length-1]=u.slice(0,-1):n.pop(),i--):(n.push(`
`),s=n.length,i=0)}c&&(n.push(c),i+=c.length)}return n.join("")}getTextContent(){if(!this.content)return"";let e=An(this.contentType.parsed.params.charset).decode(this.content);return/^flowed$/i.test(
this.contentType.parsed.params.format)&&(e=this.decodeFlowedText(e,/^yes$/i.test(this.contentType.parsed.params.delsp))),e}processHeaders(){let e=[];for(let n of this.headerLines)e.length&&/^[ \t]/.test(
n)?e[e.length-1].push(n):e.push([n]);let r=new Set;for(let n of e){let s=n.join(`
`),i=s.indexOf(":"),a=ko(i<0?s:s.slice(0,i));this.rawHeaderLines.push({key:a.toLowerCase(),line:s});let o=n.join("");i=o.indexOf(":");let c=ko(i<0?o:o.slice(0,i)),u=i<0?"":ko(o.slice(i+1).replace(/[\r\n]+/g,
" "));this.headers.push({key:c.toLowerCase(),originalKey:c,value:u});let h=c.toLowerCase();if(_g.has(h)&&!r.has(h))switch(r.add(h),h){case"content-type":this.contentType.value=u;break;case"content-tra\
nsfer-encoding":this.contentTransferEncoding.value=u;break;case"content-disposition":this.contentDisposition.value=u;break;case"content-id":this.contentId=u;break;case"content-description":this.contentDescription=
u;break}}this.contentType.parsed=this.parseStructuredHeader(this.contentType.value),this.contentType.multipart=/^multipart\//i.test(this.contentType.parsed.value)?this.contentType.parsed.value.slice(this.
contentType.parsed.value.indexOf("/")+1):!1,this.contentType.multipart&&this.contentType.parsed.params.boundary&&this.postalMime.boundaries.push({value:lr.encode(this.contentType.parsed.params.boundary),
node:this}),this.contentDisposition.parsed=this.parseStructuredHeader(this.contentDisposition.value),this.contentTransferEncoding.encoding=(this.stripComments(this.contentTransferEncoding.value).toLowerCase().
match(/[\w-]+/)||[""])[0],this.setupContentDecoder(this.contentTransferEncoding.encoding)}feed(e){switch(this.state){case"header":if(!e.length){this.state="body",this.processHeaders();return}if(this.postalMime.
headerSize+=e.length,this.postalMime.headerSize>this.options.maxHeadersSize)throw new Error(`Maximum header size of ${this.options.maxHeadersSize} bytes exceeded`);this.headerLines.push(Rg.decode(e));
break;case"body":this.contentDecoder&&this.contentDecoder.update(e);break}}};var ns,xo=new Proxy({},{get(t,e){if(!(typeof e!="string"||!/^&[a-z]+[0-9]*;?$/i.test(e)))return ns=ns||document.createElement("textarea"),ns.innerHTML=e,ns.value===e?void 0:ns.value}});function Fg(t){return t.replace(/&(#\d+|#x[a-f0-9]+|[a-z]+\d*);?/gi,(e,r)=>{if(typeof xo[e]=="string")return xo[e];if(r.charAt(0)!=="#"||e.charAt(e.length-1)!==";")return e;let n;r.charAt(1)==="x"?n=parseInt(
r.slice(2),16):n=parseInt(r.slice(1),10);let s="";return n>=55296&&n<=57343||n>1114111?"\uFFFD":(n>65535&&(n-=65536,s+=String.fromCharCode(n>>>10&1023|55296),n=56320|n&1023),s+=String.fromCharCode(n),
s)})}function Fr(t){return t.trim().replace(/[<>"'?&]/g,e=>{let r=e.charCodeAt(0).toString(16);return r.length<2&&(r="0"+r),"&#x"+r.toUpperCase()+";"})}function ju(t){return"<div>"+Fr(t).replace(/\n/g,
"<br />")+"</div>"}var Gu=/[\n\r\u2028\u2029]/g;function Ng(t){return Math.max(t.lastIndexOf(`
`),t.lastIndexOf("\r"),t.lastIndexOf("\u2028"),t.lastIndexOf("\u2029"))}function So(t,e){let r=1/0,n=null;return s=>((s<r||n&&s>n.index)&&(e.lastIndex=s,n=e.exec(t),r=s),n)}function ss(t,e,r){let n=t.
lastIndexOf(">")+1;return t.slice(0,n).replace(e,r)+t.slice(n)}function Qu(t,e,r,n){let s=[],i=0,a=0;for(;;){e.lastIndex=a;let o=e.exec(t);if(!o)break;let c=o.index;r.lastIndex=c;let u=r.exec(t);if(!u){
let h=t.indexOf(">",c);if(h<0)break;a=h+1;continue}s.push(t.slice(i,c),n(...u)),i=a=c+u[0].length}return s.push(t.slice(i)),s.join("")}function Hu(t,e,r,n,s,i){let a=So(t,/>/g),o=So(t,n),c=So(t,Gu),u=[],
h=0,f=0;for(;;){e.lastIndex=f;let d=e.exec(t);if(!d)break;let g=d.index;f=g+1;let w=g+d[0].length;if(r){let E=a(w);if(!E)break;w=E.index+1}let b=o(w);if(!b)break;let A=c(w);if(A&&A.index<b.index)continue;
let k=b.index+b[0].length;if(s){let E=a(k);if(!E)break;k=E.index+1}u.push(t.slice(h,g),i),h=f=k}return u.push(t.slice(h)),u.join("")}function vo(t,e){let r=t.search(Gu),n=Math.min(r<0?t.length:r,t.lastIndexOf(
">")),s=-1;e.lastIndex=0;let i;for(;(i=e.exec(t))&&i.index<n;)s=i.index;return s<0?t:t.slice(t.indexOf(">",s)+1)}function zu(t,e){let r=Ng(t);e.lastIndex=r<0?0:t.lastIndexOf(">",r)+1;let n=e.exec(t);return n&&
n.index<t.lastIndexOf(">")?t.slice(0,n.index):t}function Wu(t){return t=t.replace(/\r?\n/g,"\x01"),t=Hu(t,/<[!]--/g,!1,/-->/g,!1," "),t=ss(t,/<br\b[^>]*>/gi,`
`),t=ss(t,/<\/?(p|div|table|tr|td|th)\b[^>]*>/gi,`

`),t=Hu(t,/<[s]cript\b/gi,!0,/<\/[s]cript\b/gi,!0," "),t=vo(t,/<body\b/gi),t=vo(t,/<\/head\b/gi),t=vo(t,/<!doctype\b/gi),t=zu(t,/<\/body\b/gi),t=zu(t,/<\/html\b/gi),t=Qu(t,/<a\b/gi,/<a\b[^>]*href\s*=\s*["']?([^\s"']+)[^>]*>/iy,
(e,r)=>` (${r}) `),t=ss(t,/<\/?(span|em|i|strong|b|u|a)\b[^>]*>/gi,""),t=Qu(t,/<li\b/gi,/<li\b[^>]*>[\n\u0001\s]*/iy,()=>"* "),t=ss(t,/<hr\b[^>]*>/g,`
-------------
`),t=ss(t,/<[^>]*>/g," "),t=t.replace(/\u0001/g,`
`).replace(/[ \t]+/g," ").replace(/^\s+$/gm,"").replace(/\n\n+/g,`

`).replace(/^\n+/,`
`).replace(/\n+$/,`
`),t=Fg(t),t}function Vu(t){if(typeof Intl>"u")return t;let e=new Date(t);return isNaN(e.getTime())?t:new Intl.DateTimeFormat("default",{year:"numeric",month:"numeric",day:"numeric",hour:"numeric",minute:"\
numeric",second:"numeric",hour12:!1}).format(e)}function Og(t){return(t.name?[t.name,`<${t.address}>`]:[t.address]).join(" ")}function ki(t){let e=[],r=(n,s)=>{if(s&&e.push(", "),n.group){let i=`${n.name}\
:`,a=";";e.push(i),n.group.forEach(r),e.push(a)}else e.push(Og(n))};return t.forEach(r),e.join("")}function Qg(t){return`<a href="mailto:${Fr(t.address)}" class="postal-email-address">${Fr(t.name||`<${t.
address}>`)}</a>`}function xi(t){let e=[],r=(n,s)=>{if(s&&e.push('<span class="postal-email-address-separator">, </span>'),n.group){let i=`<span class="postal-email-address-group">${Fr(n.name)}:</span\
>`,a='<span class="postal-email-address-group">;</span>';e.push(i),n.group.forEach(r),e.push(a)}else e.push(Qg(n))};return t.forEach(r),e.join(" ")}function Hg(t,e,r){t=(t||"").toString(),e=e||76;let n=0,
s=t.length,i="",a,o;for(;n<s;){if(a=t.slice(n,n+e),a.length<e){i+=a;break}if(o=a.match(/^[^\n\r]*(\r?\n|\r)/)){a=o[0],i+=a,n+=a.length;continue}else(o=a.match(/(\s+)[^\s]*$/))&&o[0].length-(r?(o[1]||"").
length:0)<a.length?a=a.slice(0,a.length-(o[0].length-(r?(o[1]||"").length:0))):(o=t.slice(n+a.length).match(/^[^\s]+(\s*)/))&&(a=a+o[0].slice(0,o[0].length-(r?0:(o[1]||"").length)));i+=a,n+=a.length,n<
s&&(i+=`\r
`)}return i}function Yu(t){let e=[];t.from&&e.push({key:"From",val:ki([t.from])}),t.subject&&e.push({key:"Subject",val:t.subject}),t.date&&e.push({key:"Date",val:Vu(t.date)}),t.to&&t.to.length&&e.push(
{key:"To",val:ki(t.to)}),t.cc&&t.cc.length&&e.push({key:"Cc",val:ki(t.cc)}),t.bcc&&t.bcc.length&&e.push({key:"Bcc",val:ki(t.bcc)});let r=e.map(o=>o.key.length).reduce((o,c)=>c>o?c:o,0),n=e.flatMap(o=>{
let c=r-o.key.length,u=`${o.key}: ${" ".repeat(c)}`,h=`${" ".repeat(o.key.length+1)} ${" ".repeat(c)}`;return Hg(o.val,80,!0).split(/\r?\n/).map(d=>d.trim()).map((d,g)=>`${g?h:u}${d}`)}),s=n.map(o=>o.
length).reduce((o,c)=>c>o?c:o,0),i="-".repeat(s);return`
${i}
${n.join(`
`)}
${i}
`}function qu(t){let e=[];return t.from&&e.push(`<div class="postal-email-header-key">From</div><div class="postal-email-header-value">${xi([t.from])}</div>`),t.subject&&e.push(`<div class="postal-ema\
il-header-key">Subject</div><div class="postal-email-header-value postal-email-header-subject">${Fr(t.subject)}</div>`),t.date&&e.push(`<div class="postal-email-header-key">Date</div><div class="posta\
l-email-header-value postal-email-header-date" data-date="${Fr(t.date)}">${Fr(Vu(t.date))}</div>`),t.to&&t.to.length&&e.push(`<div class="postal-email-header-key">To</div><div class="postal-email-head\
er-value">${xi(t.to)}</div>`),t.cc&&t.cc.length&&e.push(`<div class="postal-email-header-key">Cc</div><div class="postal-email-header-value">${xi(t.cc)}</div>`),t.bcc&&t.bcc.length&&e.push(`<div class\
="postal-email-header-key">Bcc</div><div class="postal-email-header-value">${xi(t.bcc)}</div>`),`<div class="postal-email-header">${e.length?'<div class="postal-email-header-row">':""}${e.join(`</div>\

<div class="postal-email-header-row">`)}${e.length?"</div>":""}</div>`}var Ju=/\w/,$u=/[^\s]+/g;function zg(t){$u.lastIndex=0;let e;for(;e=$u.exec(t);){let r=e[0],n=r.indexOf("@"),s=0;for(;s<n&&!Ju.test(r.charAt(s));)s++;if(s>=n)continue;let i=r.length;for(;i>n+1&&!Ju.test(
r.charAt(i-1));)i--;if(!(i<=n+1))return{index:e.index+s,length:i-s,value:r.substring(s,i)}}return null}function jg(t){let e=-1,r=-1;for(let n=0;n<t.length;n++){let s=t.charAt(n);if(s==="<")e=n+1,r=-1;else if(s===
">"){if(r>=0&&r<n-1)return!0;e=-1,r=-1}else s==="@"&&e>=0&&r<0&&n>e&&(r=n)}return!1}function Gg(t,e){let r=!1,n="text",s=[],i={address:[],comment:[],group:[],text:[],textWasQuoted:[]},a,o,c=!1;for(a=0,
o=t.length;a<o;a++){let u=t[a],h=a?t[a-1]:null;if(u.type==="operator")switch(u.value){case"<":n="address",c=!1;break;case"(":n="comment",c=!1;break;case":":n="group",r=!0,c=!1;break;case'"':c=!c,n="te\
xt";break;default:n="text",c=!1;break}else u.value&&(n==="address"&&(u.value=u.value.replace(/^[^<]*<\s*/,"")),h&&h.noBreak&&i[n].length?(i[n][i[n].length-1]+=u.value,n==="text"&&c&&(i.textWasQuoted[i.
textWasQuoted.length-1]=!0)):(i[n].push(u.value),n==="text"&&i.textWasQuoted.push(c)))}if(!i.text.length&&i.comment.length&&(i.text=i.comment,i.comment=[]),r){let u=i.text.join(" "),h=[];i.group.length&&
Xu(i.group.join(","),e+1).forEach(d=>{if(d.group)for(let g of d.group)h.push(g);else h.push(d)}),s.push({name:ur(u),group:h})}else{if(!i.address.length&&i.text.length){for(a=i.text.length-1;a>=0;a--)if(!i.
textWasQuoted[a]&&i.text[a].match(/^[^@\s]+@[^@\s]+$/)){i.address=i.text.splice(a,1),i.textWasQuoted.splice(a,1);break}if(!i.address.length){for(a=i.text.length-1;a>=0;a--)if(!i.textWasQuoted[a]){let d=zg(
i.text[a]);if(d){i.address=[d.value],i.text[a]=(i.text[a].substring(0,d.index).trimEnd()+" "+i.text[a].substring(d.index+d.length).trimStart()).trim();break}i.text[a]=i.text[a].trim()}}}!i.text.length&&
i.comment.length&&(i.text=i.comment,i.comment=[]),i.address.length>1&&(i.text=i.text.concat(i.address.splice(1)));let u=i.text.join(" "),h=i.address.join(" ");if(!h&&Ru(u.trim())){let d=ur(u);if(jg(d)){
let g=Zu(d);if(g&&g.length)return g}return[{address:"",name:d}]}let f={address:h||u||"",name:ur(u||h||"")};f.address===f.name&&(f.address.match(/@/)?f.name="":f.address=""),s.push(f)}return s}var Co=class{constructor(e){
this.str=(e||"").toString(),this.operatorCurrent="",this.operatorExpecting="",this.node=null,this.escaped=!1,this.list=[],this.operators={'"':'"',"(":")","<":">",",":"",":":";",";":""}}tokenize(){let e=[];
for(let r=0,n=this.str.length;r<n;r++){let s=this.str.charAt(r),i=r<n-1?this.str.charAt(r+1):null;this.checkChar(s,i)}return this.list.forEach(r=>{r.value=(r.value||"").toString().trim(),r.value&&e.push(
r)}),e}checkChar(e,r){if(!this.escaped){if(e===this.operatorExpecting){this.node={type:"operator",value:e},r&&![" ","\x09","\r",`
`,",",";"].includes(r)&&(this.node.noBreak=!0),this.list.push(this.node),this.node=null,this.operatorExpecting="",this.escaped=!1;return}else if(!this.operatorExpecting&&e in this.operators){this.node=
{type:"operator",value:e},this.list.push(this.node),this.node=null,this.operatorExpecting=this.operators[e],this.escaped=!1;return}else if(this.operatorExpecting==='"'&&e==="\\"){this.escaped=!0;return}}
this.node||(this.node={type:"text",value:""},this.list.push(this.node)),e===`
`&&(e=" "),(e.charCodeAt(0)>=33||[" ","\x09"].includes(e))&&(this.node.value+=e),this.escaped=!1}},Wg=50;function Xu(t,e){if(e>Wg)return[];let n=new Co(t).tokenize(),s=[],i=[],a=[];n.forEach(o=>{o.type===
"operator"&&(o.value===","||o.value===";")?(i.length&&s.push(i),i=[]):i.push(o)}),i.length&&s.push(i);for(let o of s)for(let c of Gg(o,e))a.push(c);return a}function Zu(t,e){let r=Xu(t,0);if(e&&e.flatten){
let n=[],s=i=>{i.forEach(a=>{if(a.group)return s(a.group);n.push(a)})};return s(r),n}return r}var Si=Zu;function eh(t){let e="",r="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",n=new Uint8Array(t),s=n.byteLength,i=s%3,a=s-i,o,c,u,h,f;for(let d=0;d<a;d=d+3)f=n[d]<<16|n[d+1]<<8|n[d+2],
o=(f&16515072)>>18,c=(f&258048)>>12,u=(f&4032)>>6,h=f&63,e+=r[o]+r[c]+r[u]+r[h];return i===1?(f=n[a],o=(f&252)>>2,c=(f&3)<<4,e+=r[o]+r[c]+"=="):i===2&&(f=n[a]<<8|n[a+1],o=(f&64512)>>10,c=(f&1008)>>4,u=
(f&15)<<2,e+=r[o]+r[c]+r[u]+"="),e}function Vg(t){return!!t&&typeof t.getReader=="function"}function Yg(t){return t instanceof Blob||Object.prototype.toString.call(t)==="[object Blob]"}function qg(t,e,r){return t.type==="subMessage"?e===
"html"?qu(t.value):Yu(t.value):r?e==="html"?ju(String(t.value)):Wu(String(t.value)):t.value}var Jg=256,$g=2*1024*1024,Xg=10;function Io(t,e,r){if(t==null)return e;if(typeof t!="number"||!Number.isInteger(
t)||t<0)throw new TypeError(`${r} must be a non-negative integer`);return t}var is=class t{static async parse(e,r){return new t(r).parse(e)}constructor(e){this.options=e||{},this.mimeOptions={maxNestingDepth:Io(
this.options.maxNestingDepth,Jg,"maxNestingDepth"),maxHeadersSize:Io(this.options.maxHeadersSize,$g,"maxHeadersSize")},this.maxRfc822NestingDepth=Io(this.options.maxRfc822NestingDepth,Xg,"maxRfc822Nes\
tingDepth"),this.rfc822NestingDepth=0,this.root=this.currentNode=new bn({postalMime:this,...this.mimeOptions}),this.boundaries=[],this.headerSize=0,this.textContent={},this.textMap=new Map,this.textTypes=
new Set,this.attachments=[],this.forceRfc822Attachments=!1,this.attachmentEncoding=(this.options.attachmentEncoding||"").toString().replace(/[-_\s]/g,"").trim().toLowerCase()||"arraybuffer",this.started=
!1}async finalize(){await this.root.finalize()}async processLine(e,r){let n=this.boundaries;if(n.length&&e.length>2&&e[0]===45&&e[1]===45)for(let s=n.length-1;s>=0;s--){let i=n[s];if(e.length<i.value.
length+2)continue;let a=!0;for(let h=0;h<i.value.length;h++)if(e[h+2]!==i.value[h]){a=!1;break}if(!a)continue;let o=i.value.length+2,c=!1;e.length>=i.value.length+4&&e[i.value.length+2]===45&&e[i.value.
length+3]===45&&(c=!0,o=i.value.length+4);let u=!0;for(let h=o;h<e.length;h++)if(e[h]!==32&&e[h]!==9){u=!1;break}if(u)return c?(await i.node.finalize(),this.currentNode=i.node.parentNode||this.root):(await i.
node.finalizeChildNodes(),this.currentNode=new bn({postalMime:this,parentNode:i.node,parentMultipartType:i.node.contentType.multipart,...this.mimeOptions})),r?this.finalize():void 0}if(this.currentNode.
feed(e),r)return this.finalize()}postsealRunEnd(){let e=this.av,r=this.postsealLast??=e.lastIndexOf(10,e.length-2)+1;if(!this.boundaries.length)return Math.max(r,this.readPos);let n=this.readPos;for(;n<
r&&!(e[n]===45&&e[n+1]===45);)n=e.indexOf(10,n)+1;return n}readLine(){let e=this.av,r=this.readPos,n=e.indexOf(10,r),s=n<0?e.length:n;for(this.readPos=n<0?e.length:n+1;s>r&&e[s-1]===13;)s--;return{bytes:new Uint8Array(
this.buf,r,s-r),done:this.readPos>=e.length}}addTextEntry(e,r,n){let s=this.textMap.get(e);s||(s={},this.textMap.set(e,s));let i=s[r]||[];s[r]=i,i.push(n),this.textTypes.add(r)}async collectNode(e,r,n){
if(e.contentType.multipart)e.contentType.multipart==="alternative"?r=e:e.contentType.multipart==="related"&&(n=!0);else{let s=this.isInlineMessageRfc822(e),i=s&&this.rfc822NestingDepth>=this.maxRfc822NestingDepth;
if(s&&!i)await this.collectSubMessage(e);else if(this.isInlineTextNode(e)){let a=e.contentType.parsed.value==="text/html"?"html":"plain";this.addTextEntry(r||e,a,{type:"text",value:a==="plain"?Du(e,An):
e.getTextContent()})}else e.content&&this.collectAttachment(e,e.content,n,i)}for(let s of e.childNodes)await this.collectNode(s,r,n)}async collectSubMessage(e){let r=new t({...this.mimeOptions,maxRfc822NestingDepth:this.
maxRfc822NestingDepth,attachmentEncoding:"arraybuffer"});r.rfc822NestingDepth=this.rfc822NestingDepth+1;let n=e.subMessage=await r.parse(e.content||new ArrayBuffer(0));(n.text||!n.html)&&this.addTextEntry(
e,"plain",{type:"subMessage",value:n}),n.html&&this.addTextEntry(e,"html",{type:"subMessage",value:n}),r.textMap.forEach((s,i)=>{this.textMap.set(i,s)});for(let s of n.attachments)this.attachments.push(
s)}collectAttachment(e,r,n,s){let i=e.contentDisposition.parsed.params.filename||e.contentType.parsed.params.name||null,a={filename:i?ur(i):null,mimeType:e.contentType.parsed.value,disposition:e.contentDisposition.
parsed.value||null};switch(n&&e.contentId&&!s&&(a.related=!0),s&&(a.rfc822DepthExceeded=!0),e.contentDescription&&(a.description=ur(e.contentDescription)),e.contentId&&(a.contentId=e.contentId),e.contentType.
parsed.value){case"text/calendar":case"application/ics":{e.contentType.parsed.params.method&&(a.method=e.contentType.parsed.params.method.toString().toUpperCase().trim());let o=e.getTextContent().replace(
/\r?\n/g,`
`),c=o.length;for(;c>0&&o.charCodeAt(c-1)===10;)c--;a.content=lr.encode(o.slice(0,c)+`
`);break}default:a.content=ArrayBuffer.isView(r)?r.slice().buffer:r}this.attachments.push(a)}renderTextContent(){let e={};this.textMap.forEach(r=>{this.textTypes.forEach(n=>{let s=e[n]||[];e[n]=s;let i=r[n],
a=i||r[n==="html"?"plain":"html"]||[];for(let o of a)s.push(qg(o,n,!i))})}),Object.keys(e).forEach(r=>{let n=e[r];this.textContent[r]=n.length===1&&n[0]instanceof Rr?n[0]:n.join(`
`)})}isInlineTextNode(e){if(e.contentDisposition.parsed.value==="attachment")return!1;switch(e.contentType.parsed.value){case"text/html":case"text/plain":return!0;default:return!1}}isInlineMessageRfc822(e){
return this.forceRfc822Attachments||e.contentType.parsed.value!=="message/rfc822"?!1:(e.contentDisposition.parsed.value||(this.options.rfc822Attachments?"attachment":"inline"))==="inline"}hasReportParts(){
let e=!1,r=n=>{n.contentType.multipart||["message/delivery-status","message/feedback-report"].includes(n.contentType.parsed.value)&&(e=!0);for(let s of n.childNodes)r(s)};return r(this.root),e}async resolveStream(e){
let r=0,n=[],s=e.getReader();for(;;){let{done:o,value:c}=await s.read();if(o)break;n.push(c),r+=c.length}let i=new Uint8Array(r),a=0;for(let o of n)i.set(o,a),a+=o.length;return i}async resolveInput(e){
let r=e;return Vg(r)&&(r=await this.resolveStream(r)),r=r||new ArrayBuffer(0),typeof r=="string"&&(r=lr.encode(r)),Yg(r)&&(r=await bi(r)),ArrayBuffer.isView(r)?r.buffer.slice(r.byteOffset,r.byteOffset+
r.byteLength):r}buildMessage(){let e=this.root.headers,r={headers:e.map(s=>({key:s.key,originalKey:s.originalKey,value:s.value}))};for(let s of["from","sender"]){let i=e.find(a=>a.key===s);if(i&&i.value){
let a=Si(i.value);a&&a.length&&(r[s]=a[0])}}for(let[s,i]of[["delivered-to","deliveredTo"],["return-path","returnPath"]]){let a=e.find(o=>o.key===s);if(a&&a.value){let o=Si(a.value);o&&o.length&&o[0].address&&
(r[i]=o[0].address)}}for(let[s,i]of[["to","to"],["cc","cc"],["bcc","bcc"],["reply-to","replyTo"]]){let a=[];for(let o of e)if(o.key===s&&o.value)for(let c of Si(o.value))a.push(c);a.length&&(r[i]=a)}for(let[
s,i]of[["subject","subject"],["message-id","messageId"],["in-reply-to","inReplyTo"],["references","references"]]){let a=e.find(o=>o.key===s);a&&a.value&&(r[i]=ur(a.value))}let n=e.find(s=>s.key==="dat\
e");if(n){let s=new Date(n.value);r.date=s.toString()==="Invalid Date"?n.value:s.toISOString()}return this.textContent.html&&(r.html=this.textContent.html),this.textContent.plain&&(r.text=this.textContent.
plain),r.attachments=this.attachments,r.headerLines=this.root.rawHeaderLines.slice(),r}encodeAttachments(){switch(this.attachmentEncoding){case"arraybuffer":break;case"base64":for(let e of this.attachments)
e.content&&typeof e.content!="string"&&(e.content=eh(e.content),e.encoding="base64");break;case"utf8":{let e=new TextDecoder("utf8");for(let r of this.attachments)r.content&&typeof r.content!="string"&&
(r.content=e.decode(r.content),r.encoding="utf8");break}default:throw new Error("Unknown attachment encoding")}}async parse(e){if(this.started)throw new Error("Can not reuse parser, create a new Posta\
lMime object");for(this.started=!0,this.buf=await this.resolveInput(e),this.av=new Uint8Array(this.buf),this.readPos=0;this.readPos<this.av.length;){let n=this.currentNode,s=n.state==="body"&&n.contentDecoder&&
n.contentDecoder.updateRun?this.postsealRunEnd():this.readPos;if(s>this.readPos){n.contentDecoder.updateRun(this.av.subarray(this.readPos,s)),this.readPos=s;continue}let i=this.readLine(),a=i.bytes;i.
done||this.boundaries.length&&a.length>2&&a[0]===45&&a[1]===45?await this.processLine(a,i.done):this.currentNode.feed(a)}this.forceRfc822Attachments=!!this.options.forceRfc822Attachments||this.hasReportParts(),
await this.collectNode(this.root,!1,!1),this.renderTextContent();let r=this.buildMessage();return this.encodeAttachments(),r}};var Zg="-----BEGIN PGP MESSAGE-----",jt=class extends Error{};function rh(t){let e=t.indexOf(Zg);if(e<0)throw new jt("no armoured OpenPGP message");let r=t.indexOf(`
`,e);if(r<0)throw new jt("armour ends after its first line");let n=r+1;for(let a=n;;){let o=t.indexOf(`
`,a);if(o<0)throw new jt("armour has no body");let c=t.slice(a,o).trim();if(c===""){n=o+1;break}if(!c.includes(":")){n=a;break}a=o+1}let s=t.indexOf("-----END PGP MESSAGE-----",n);if(s<0)throw new jt(
"armour has no END line");let i=t.lastIndexOf(`
=`,s);return i>=n&&(s=i),th(typeof Uint8Array.fromBase64=="function"?t.slice(n,s):t.slice(n,s).replace(/[\r\n\t ]+/g,""))}var ew=(()=>{let t=new Int16Array(128).fill(-1),e="ABCDEFGHIJKLMNOPQRSTUVWXYZa\
bcdefghijklmnopqrstuvwxyz0123456789+/";for(let r=0;r<e.length;r++)t[e.charCodeAt(r)]=r;return t})();function th(t){if(typeof Uint8Array.fromBase64=="function")try{return Uint8Array.fromBase64(t)}catch{
throw new jt("armour body is not base64")}let e=t.length;for(;e>0&&t.charCodeAt(e-1)===61;)e--;if(e%4===1)throw new jt("armour body has a bad length");let r=new Uint8Array(Math.floor(e*3/4)),n=0,s=0,i=e-
e%4;for(;s<i;s+=4){let o=Nr(t,s),c=Nr(t,s+1),u=Nr(t,s+2),h=Nr(t,s+3),f=o<<18|c<<12|u<<6|h;r[n++]=f>>16,r[n++]=f>>8&255,r[n++]=f&255}let a=e-i;if(a>=2){let o=Nr(t,s)<<18|Nr(t,s+1)<<12|(a===3?Nr(t,s+2)<<
6:0);r[n++]=o>>16,a===3&&(r[n++]=o>>8&255)}return r}function Nr(t,e){let r=t.charCodeAt(e),n=r<128?ew[r]:-1;if(n<0)throw new jt("armour body is not base64");return n}function nh(t){if(typeof t.toBase64==
"function")return t.toBase64();let e="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",r=[],n="",s=0;for(;s+2<t.length;s+=3){let i=t[s]<<16|t[s+1]<<8|t[s+2];n+=e[i>>18]+e[i>>12&63]+e[i>>
6&63]+e[i&63],n.length>=8192&&(r.push(n),n="")}if(s<t.length){let i=t[s]<<16|(s+1<t.length?t[s+1]:0)<<8;n+=e[i>>18]+e[i>>12&63]+(s+1<t.length?e[i>>6&63]:"=")+"="}return r.push(n),r.join("")}function tw(t,e){this.v=t,this.k=e}function sh(t,e){(e==null||e>t.length)&&(e=t.length);for(var r=0,n=Array(e);r<e;r++)n[r]=t[r];return n}function rw(t){if(Array.isArray(t))return t}function nw(t,e){var r=t==
null?null:typeof Symbol<"u"&&t[Symbol.iterator]||t["@@iterator"];if(r!=null){var n,s,i,a,o=[],c=!0,u=!1;try{if(i=(r=r.call(t)).next,e===0){if(Object(r)!==r)return;c=!1}else for(;!(c=(n=i.call(r)).done)&&
(o.push(n.value),o.length!==e);c=!0);}catch(h){u=!0,s=h}finally{try{if(!c&&r.return!=null&&(a=r.return(),Object(a)!==a))return}finally{if(u)throw s}}return o}}function sw(){throw new TypeError(`Invali\
d attempt to destructure non-iterable instance.
In order to be iterable, non-array objects must have a [Symbol.iterator]() method.`)}function iw(t,e){return rw(t)||nw(t,e)||aw(t,e)||sw()}function aw(t,e){if(t){if(typeof t=="string")return sh(t,e);var r={}.
toString.call(t).slice(8,-1);return r==="Object"&&t.constructor&&(r=t.constructor.name),r==="Map"||r==="Set"?Array.from(t):r==="Arguments"||/^(?:Ui|I)nt(?:8|16|32)(?:Clamped)?Array$/.test(r)?sh(t,e):void 0}}
function vi(t){var e,r;function n(i,a){try{var o=t[i](a),c=o.value,u=c instanceof tw;Promise.resolve(u?c.v:c).then(function(h){if(u){var f=i==="return"&&c.k?i:"next";if(!c.k||h.done)return n(f,h);h=t[f](
h).value}s(!!o.done,h)},function(h){n("throw",h)})}catch(h){s(2,h)}}function s(i,a){i===2?e.reject(a):e.resolve({value:a,done:i}),(e=e.next)?n(e.key,e.arg):r=null}this._invoke=function(i,a){return new Promise(
function(o,c){var u={key:i,arg:a,resolve:o,reject:c,next:null};r?r=r.next=u:(e=r=u,n(i,a))})},typeof t.return!="function"&&(this.return=void 0)}vi.prototype[typeof Symbol=="function"&&Symbol.asyncIterator||
"@@asyncIterator"]=function(){return this},vi.prototype.next=function(t){return this._invoke("next",t)},vi.prototype.throw=function(t){return this._invoke("throw",t)},vi.prototype.return=function(t){return this.
_invoke("return",t)};var wh=Object.entries,ow=Object.keys,ih=Object.setPrototypeOf,cw=Object.isFrozen,mh=Object.getPrototypeOf,Ah=Object.getOwnPropertyDescriptor,Be=Object.freeze,be=Object.seal,pr=Object.
create,bh=typeof Reflect<"u"&&Reflect,Bi=bh.apply,Fo=bh.construct;Be||(Be=function(e){return e});be||(be=function(e){return e});Bi||(Bi=function(e,r){for(var n=arguments.length,s=new Array(n>2?n-2:0),
i=2;i<n;i++)s[i-2]=arguments[i];return e.apply(r,s)});Fo||(Fo=function(e){for(var r=arguments.length,n=new Array(r>1?r-1:0),s=1;s<r;s++)n[s-1]=arguments[s];return new e(...n)});var Gt=ae(Array.prototype.
forEach),lw=ae(Array.prototype.lastIndexOf),ah=ae(Array.prototype.pop),as=ae(Array.prototype.push),uw=ae(Array.prototype.slice),hw=ae(Array.prototype.splice),En=Array.isArray,Bo=Eh(Set),Do=ae(Set.prototype.
add),os=ae(Set.prototype.has),Or=ae(String.prototype.toLowerCase),Ko=ae(String.prototype.toString),fw=ae(String.prototype.match),Ci=ae(String.prototype.replace),Po=ae(String.prototype.indexOf),pw=ae(String.
prototype.trim),dw=ae(Number.prototype.toString),yw=ae(Boolean.prototype.toString),oh=typeof BigInt>"u"?null:ae(BigInt.prototype.toString),ch=typeof Symbol>"u"?null:ae(Symbol.prototype.toString),Fe=ae(
Object.prototype.hasOwnProperty),cs=ae(Object.prototype.toString),gw=RegExp.prototype.test,Ie=function(e,r){return e instanceof RegExp&&(e.lastIndex=0),Bi(gw,e,[r])},Wt=Eh(TypeError);function ae(t){return function(e){
for(var r=arguments.length,n=new Array(r>1?r-1:0),s=1;s<r;s++)n[s-1]=arguments[s];return Bi(t,e,n)}}function Eh(t){return function(){for(var e=arguments.length,r=new Array(e),n=0;n<e;n++)r[n]=arguments[n];
return Fo(t,r)}}function Y(t,e){let r=arguments.length>2&&arguments[2]!==void 0?arguments[2]:Or;if(ih&&ih(t,null),!En(e))return t;let n=e.length;for(;n--;){let s=e[n];if(typeof s=="string"){let i=r(s);
i!==s&&(cw(e)||(e[n]=i),s=i)}t[s]=!0}return t}function ww(t){for(let e=0;e<t.length;e++)Fe(t,e)||(t[e]=null);return t}function Di(t){let e=pr(null);for(let n of wh(t)){var r=iw(n,2);let s=r[0],i=r[1];
Fe(t,s)&&(En(i)?e[s]=ww(i):i&&typeof i=="object"&&i.constructor===Object?e[s]=Di(i):e[s]=i)}return e}function ls(t){let e=pr(null),r=ow(t),n=r.length;for(;n--;)e[r[n]]=t[r[n]];return e}function mw(t){
switch(typeof t){case"string":return t;case"number":return dw(t);case"boolean":return yw(t);case"bigint":return oh?oh(t):"0";case"symbol":return ch?ch(t):"Symbol()";case"undefined":return cs(t);case"f\
unction":case"object":{if(t===null)return cs(t);let e=t,r=at(e,"toString");if(typeof r=="function"){let n=r(e);return typeof n=="string"?n:cs(n)}return cs(t)}default:return cs(t)}}function at(t,e){for(;t!==
null;){let n=Ah(t,e);if(n){if(n.get)return ae(n.get);if(typeof n.value=="function")return ae(n.value)}t=mh(t)}function r(){return null}return r}function Aw(t,e){for(;t!==null;){let r=Ah(t,e);if(r)return r.
get?ae(r.get):null;t=mh(t)}return null}function bw(t){if(!t)return!1;try{return Ie(t,""),!0}catch{return!1}}var lh=Be(["a","abbr","acronym","address","area","article","aside","audio","b","bdi","bdo","\
big","blink","blockquote","body","br","button","canvas","caption","center","cite","code","col","colgroup","content","data","datalist","dd","decorator","del","details","dfn","dialog","dir","div","dl","\
dt","element","em","fieldset","figcaption","figure","font","footer","form","h1","h2","h3","h4","h5","h6","head","header","hgroup","hr","html","i","img","input","ins","kbd","label","legend","li","main",
"map","mark","marquee","menu","menuitem","meter","nav","nobr","ol","optgroup","option","output","p","picture","pre","progress","q","rp","rt","ruby","s","samp","search","section","select","shadow","slo\
t","small","source","spacer","span","strike","strong","style","sub","summary","sup","table","tbody","td","template","textarea","tfoot","th","thead","time","tr","track","tt","u","ul","var","video","wbr"]),
To=Be(["svg","a","altglyph","altglyphdef","altglyphitem","animatecolor","animatemotion","animatetransform","circle","clippath","defs","desc","ellipse","filter","font","g","glyph","glyphref","hkern","i\
mage","line","lineargradient","marker","mask","metadata","mpath","path","pattern","polygon","polyline","radialgradient","rect","stop","style","switch","symbol","text","textpath","title","tref","tspan",
"view","vkern"]),Uo=Be(["feBlend","feColorMatrix","feComponentTransfer","feComposite","feConvolveMatrix","feDiffuseLighting","feDisplacementMap","feDistantLight","feDropShadow","feFlood","feFuncA","fe\
FuncB","feFuncG","feFuncR","feGaussianBlur","feImage","feMerge","feMergeNode","feMorphology","feOffset","fePointLight","feSpecularLighting","feSpotLight","feTile","feTurbulence"]),Ew=Be(["animate","co\
lor-profile","cursor","discard","font-face","font-face-format","font-face-name","font-face-src","font-face-uri","foreignobject","hatch","hatchpath","mesh","meshgradient","meshpatch","meshrow","missing\
-glyph","script","set","solidcolor","unknown","use"]),Lo=Be(["math","menclose","merror","mfenced","mfrac","mglyph","mi","mlabeledtr","mmultiscripts","mn","mo","mover","mpadded","mphantom","mroot","mro\
w","ms","mspace","msqrt","mstyle","msub","msup","msubsup","mtable","mtd","mtext","mtr","munder","munderover","mprescripts"]),kw=Be(["maction","maligngroup","malignmark","mlongdiv","mscarries","mscarry",
"msgroup","mstack","msline","msrow","semantics","annotation","annotation-xml","mprescripts","none"]),uh=Be(["#text"]),hh=Be(["accept","action","align","alt","autocapitalize","autocomplete","autopictur\
einpicture","autoplay","background","bgcolor","border","capture","cellpadding","cellspacing","checked","cite","class","clear","color","cols","colspan","command","commandfor","controls","controlslist",
"coords","crossorigin","datetime","decoding","default","dir","disabled","disablepictureinpicture","disableremoteplayback","download","draggable","enctype","enterkeyhint","exportparts","face","for","he\
aders","height","hidden","high","href","hreflang","id","inert","inputmode","integrity","ismap","kind","label","lang","list","loading","loop","low","max","maxlength","media","method","min","minlength",
"multiple","muted","name","nonce","noshade","novalidate","nowrap","open","optimum","part","pattern","placeholder","playsinline","popover","popovertarget","popovertargetaction","poster","preload","pubd\
ate","radiogroup","readonly","rel","required","rev","reversed","role","rows","rowspan","spellcheck","scope","selected","shape","size","sizes","slot","span","srclang","start","src","srcset","step","sty\
le","summary","tabindex","title","translate","type","usemap","valign","value","width","wrap","xmlns"]),Mo=Be(["accent-height","accumulate","additive","alignment-baseline","amplitude","ascent","attribu\
tename","attributetype","azimuth","basefrequency","baseline-shift","begin","bias","by","class","clip","clippathunits","clip-path","clip-rule","color","color-interpolation","color-interpolation-filters",
"color-profile","color-rendering","cx","cy","d","dx","dy","diffuseconstant","direction","display","divisor","dominant-baseline","dur","edgemode","elevation","end","exponent","fill","fill-opacity","fil\
l-rule","filter","filterunits","flood-color","flood-opacity","font-family","font-size","font-size-adjust","font-stretch","font-style","font-variant","font-weight","fx","fy","g1","g2","glyph-name","gly\
phref","gradientunits","gradienttransform","height","href","id","image-rendering","in","in2","intercept","k","k1","k2","k3","k4","kerning","keypoints","keysplines","keytimes","lang","lengthadjust","le\
tter-spacing","kernelmatrix","kernelunitlength","lighting-color","local","marker-end","marker-mid","marker-start","markerheight","markerunits","markerwidth","maskcontentunits","maskunits","max","mask",
"mask-type","media","method","mode","min","name","numoctaves","offset","operator","opacity","order","orient","orientation","origin","overflow","paint-order","path","pathlength","patterncontentunits","\
patterntransform","patternunits","pointer-events","points","preservealpha","preserveaspectratio","primitiveunits","r","rx","ry","radius","refx","refy","repeatcount","repeatdur","restart","result","rot\
ate","scale","seed","shape-rendering","slope","specularconstant","specularexponent","spreadmethod","startoffset","stddeviation","stitchtiles","stop-color","stop-opacity","stroke-dasharray","stroke-das\
hoffset","stroke-linecap","stroke-linejoin","stroke-miterlimit","stroke-opacity","stroke","stroke-width","style","surfacescale","systemlanguage","tabindex","tablevalues","targetx","targety","transform",
"transform-origin","text-anchor","text-decoration","text-orientation","text-rendering","textlength","type","u1","u2","unicode","values","vector-effect","viewbox","visibility","version","vert-adv-y","v\
ert-origin-x","vert-origin-y","width","word-spacing","wrap","writing-mode","xchannelselector","ychannelselector","x","x1","x2","xmlns","y","y1","y2","z","zoomandpan"]),fh=Be(["accent","accentunder","a\
lign","bevelled","close","columnalign","columnlines","columnspacing","columnspan","denomalign","depth","dir","display","displaystyle","encoding","fence","frame","height","href","id","largeop","length",
"linethickness","lquote","lspace","mathbackground","mathcolor","mathsize","mathvariant","maxsize","minsize","movablelimits","notation","numalign","open","rowalign","rowlines","rowspacing","rowspan","r\
space","rquote","scriptlevel","scriptminsize","scriptsizemultiplier","selection","separator","separators","stretchy","subscriptshift","supscriptshift","symmetric","voffset","width","xmlns"]),Ii=Be(["x\
link:href","xml:id","xlink:title","xml:space","xmlns:xlink"]),xw=be(/{{[\w\W]*|^[\w\W]*}}/g),Sw=be(/<%[\w\W]*|^[\w\W]*%>/g),vw=be(/\${[\w\W]*/g),Cw=be(/{{|}}|\${|<%|%>|&lt;%|%&gt;/),Iw=be(/^data-[\-\w.\u00B7-\uFFFF]+$/),
Bw=be(/^aria-[\-\w]+$/),ph=be(/^(?:(?:(?:f|ht)tps?|mailto|tel|callto|sms|cid|xmpp|matrix):|[^a-z]|[a-z+.\-]+(?:[^a-z+.\-:]|$))/i),Dw=be(/^(?:\w+script|data):/i),Kw=be(/[\u0000-\u0020\u00A0\u1680\u180E\u2000-\u2029\u205F\u3000]/g),
Pw=be(/^html$/i),Tw=be(/^[a-z][.\w]*(-[.\w]+)+$/i),Ro=be(/<[/\w!]/g),dh=be(/<[/\w]/g),Uw=be(/<\/no(script|embed|frames)/i),yh=be(/\/>/i),Lw=be(/((--!?|])>)|<\/(style|script|title|xmp|textarea|noscript|iframe|noembed|noframes)/i),
Mw=be(/^[\r\n\t ]+/),we={element:1,text:3,processingInstruction:7,comment:8,document:9,documentFragment:11},Rw=Be(Y({},["style","script","xmp","iframe","noembed","noframes","plaintext","noscript"])),_w=function(){
return typeof window>"u"?null:window},Fw=function(e,r){if(typeof e!="object"||typeof e.createPolicy!="function")return null;let n=null,s="data-tt-policy-suffix";r&&r.hasAttribute(s)&&(n=r.getAttribute(
s));let i="dompurify"+(n?"#"+n:"");try{return e.createPolicy(i,{createHTML(a){return a},createScriptURL(a){return a}})}catch{return console.warn("TrustedTypes policy "+i+" could not be created."),null}},
gh=function(){return{afterSanitizeAttributes:[],afterSanitizeElements:[],afterSanitizeShadowDOM:[],beforeSanitizeAttributes:[],beforeSanitizeElements:[],beforeSanitizeShadowDOM:[],uponSanitizeAttribute:[],
uponSanitizeElement:[],uponSanitizeShadowNode:[]}},fr=function(e,r,n,s){return Fe(e,r)&&En(e[r])?Y(s.base?ls(s.base):{},e[r],s.transform):n},_o=function(e,r,n){let s=Fe(e,r)?e[r]:void 0;return s&&typeof s==
"object"?Di(s):n};function kh(){let t=arguments.length>0&&arguments[0]!==void 0?arguments[0]:_w(),e=C=>kh(C);if(e.version="3.4.18",e.removed=[],!t||!t.document||t.document.nodeType!==we.document||!t.Element)
return e.isSupported=!1,e;let r=t.document,n=r,s=n.currentScript,i=t.HTMLTemplateElement,a=t.Node,o=t.Element,c=t.NodeFilter,u=t.DOMParser,h=t.trustedTypes,f=o.prototype,d=at(f,"cloneNode"),g=at(f,"re\
move"),w=at(f,"removeAttributeNode"),b=at(f,"nextSibling"),A=at(f,"childNodes"),k=at(f,"parentNode"),E=at(f,"shadowRoot"),S=at(f,"attributes"),v=a&&a.prototype?at(a.prototype,"nodeType"):null,K=a&&a.prototype?
at(a.prototype,"nodeName"):null,U=a&&a.prototype?at(a.prototype,"ownerDocument"):null,M=function(y){return v?v(y):y.nodeType},D=function(y){return K?K(y):y.nodeName},T=Aw(f,"namespaceURI"),P=function(y){
return T?T(y):y.namespaceURI};if(typeof i=="function"){let C=r.createElement("template");C.content&&C.content.ownerDocument&&(r=C.content.ownerDocument)}let I,F="",N,W=!1,z=0,Q=function(){if(z>0)throw Wt(
'A configured TRUSTED_TYPES_POLICY callback (createHTML or createScriptURL) must not call DOMPurify.sanitize, as that causes infinite recursion. Do not pass a policy whose callbacks wrap DOMPurify as \
TRUSTED_TYPES_POLICY; see the "DOMPurify and Trusted Types" section of the README.')},G=function(y){Q(),z++;try{return I.createHTML(y)}finally{z--}},pe=function(y){return I&&_i?G(y):y},de=function(y){
Q(),z++;try{return I.createScriptURL(y)}finally{z--}},It=function(){return W||(N=Fw(h,s),W=!0),N},De=r,Ve=De.implementation,Ne=De.createNodeIterator,Oe=De.createDocumentFragment,re=De.getElementsByTagName,
Ze=n.importNode,q=gh();e.isSupported=typeof wh=="function"&&typeof k=="function"&&Ve&&Ve.createHTMLDocument!==void 0;let Vt=xw,Qr=Sw,Hr=vw,dr=Iw,yr=Bw,Yt=Dw,kn=Kw,Uh=Tw,Wo=ph,oe=null,Pi=Y({},[...lh,...To,
...Uo,...Lo,...uh]),ce=null,Ti=Y({},[...hh,...Mo,...fh,...Ii]),pt=null,xn=null,Vo=null,qt=Object.seal(pr(null,{tagCheck:{writable:!0,configurable:!1,enumerable:!0,value:null},attributeCheck:{writable:!0,
configurable:!1,enumerable:!0,value:null}})),Yo=!0,Ui=!0,qo=!1,Li=!0,Bt=!1,gr=!0,wr=!1,Mi=!1,hs=null,fs=null,Ri=!1,zr=!1,ps=!1,_i=!1,Jo=!0,$o=!1,Xo="user-content-",Fi=!0,Ni=!1,mr=null,jr=!1,Ar=null,Zo=Y(
{},["annotation-xml","audio","colgroup","desc","foreignobject","head","iframe","math","mi","mn","mo","ms","mtext","noembed","noframes","noscript","plaintext","script","selectedcontent","style","svg","\
template","thead","title","video","xmp"]),ec=null,tc=Y({},["audio","video","img","source","image","track"]),rc=null,nc=Y({},["alt","class","for","id","label","name","pattern","placeholder","role","sum\
mary","title","value","style","xmlns"]),ds="http://www.w3.org/1998/Math/MathML",ys="http://www.w3.org/2000/svg",dt="http://www.w3.org/1999/xhtml",Gr=dt,Oi=!1,sc=null,Lh=Y({},[ds,ys,dt],Ko),Mh=Be(Y({},
["mi","mo","mn","ms","mtext"])),Qi=null,Rh=Be(Y({},["annotation-xml"])),Hi=null,_h=Be(pr(null)),Fh=Y({},["title","style","font","a","script"]),Sn=null,Nh=["application/xhtml+xml","text/html"],Oh="text\
/html",ye=null,gs=null,Qh=r.createElement("form"),ic=function(y){return y instanceof RegExp||y instanceof Function},zi=function(){let y=arguments.length>0&&arguments[0]!==void 0?arguments[0]:{};(!y||typeof y!=
"object")&&(y={}),y=Di(y),Sn=Nh.indexOf(y.PARSER_MEDIA_TYPE)===-1?Oh:y.PARSER_MEDIA_TYPE,ye=Sn==="application/xhtml+xml"?Ko:Or,oe=fr(y,"ALLOWED_TAGS",Pi,{transform:ye}),ce=fr(y,"ALLOWED_ATTR",Ti,{transform:ye}),
sc=fr(y,"ALLOWED_NAMESPACES",Lh,{transform:Ko}),rc=fr(y,"ADD_URI_SAFE_ATTR",nc,{transform:ye,base:nc}),ec=fr(y,"ADD_DATA_URI_TAGS",tc,{transform:ye,base:tc}),Ar=fr(y,"FORBID_CONTENTS",Zo,{transform:ye}),
xn=fr(y,"FORBID_TAGS",pr(null),{transform:ye}),Vo=fr(y,"FORBID_ATTR",pr(null),{transform:ye}),jr=Fe(y,"USE_PROFILES")?y.USE_PROFILES&&typeof y.USE_PROFILES=="object"?Di(y.USE_PROFILES):y.USE_PROFILES:
!1,Yo=y.ALLOW_ARIA_ATTR!==!1,Ui=y.ALLOW_DATA_ATTR!==!1,qo=y.ALLOW_UNKNOWN_PROTOCOLS||!1,Li=y.ALLOW_SELF_CLOSE_IN_ATTR!==!1,Bt=y.SAFE_FOR_TEMPLATES||!1,gr=y.SAFE_FOR_XML!==!1,wr=y.WHOLE_DOCUMENT||!1,zr=
y.RETURN_DOM||!1,ps=y.RETURN_DOM_FRAGMENT||!1,_i=y.RETURN_TRUSTED_TYPE||!1,Ri=y.FORCE_BODY||!1,Jo=y.SANITIZE_DOM!==!1,$o=y.SANITIZE_NAMED_PROPS||!1,Fi=y.KEEP_CONTENT!==!1,Ni=y.IN_PLACE||!1,Wo=bw(y.ALLOWED_URI_REGEXP)?
y.ALLOWED_URI_REGEXP:ph,Gr=typeof y.NAMESPACE=="string"?y.NAMESPACE:dt,Qi=_o(y,"MATHML_TEXT_INTEGRATION_POINTS",Mh),Hi=_o(y,"HTML_INTEGRATION_POINTS",Rh);let m=_o(y,"CUSTOM_ELEMENT_HANDLING",_h);if(pt=
pr(null),Fe(m,"tagNameCheck")&&ic(m.tagNameCheck)&&(pt.tagNameCheck=m.tagNameCheck),Fe(m,"attributeNameCheck")&&ic(m.attributeNameCheck)&&(pt.attributeNameCheck=m.attributeNameCheck),Fe(m,"allowCustom\
izedBuiltInElements")&&typeof m.allowCustomizedBuiltInElements=="boolean"&&(pt.allowCustomizedBuiltInElements=m.allowCustomizedBuiltInElements),be(pt),Bt&&(Ui=!1),ps&&(zr=!0),jr&&((Fe(y,"ALLOWED_TAGS")||
Fe(y,"ALLOWED_ATTR"))&&typeof console<"u"&&typeof console.warn=="function"&&console.warn("DOMPurify: USE_PROFILES overrides ALLOWED_TAGS and ALLOWED_ATTR. Do not use these options together."),oe=Y({},
uh),ce=pr(null),jr.html===!0&&(Y(oe,lh),Y(ce,hh)),jr.svg===!0&&(Y(oe,To),Y(ce,Mo),Y(ce,Ii)),jr.svgFilters===!0&&(Y(oe,Uo),Y(ce,Mo),Y(ce,Ii)),jr.mathMl===!0&&(Y(oe,Lo),Y(ce,fh),Y(ce,Ii))),qt.tagCheck=null,
qt.attributeCheck=null,Fe(y,"ADD_TAGS")&&(typeof y.ADD_TAGS=="function"?qt.tagCheck=y.ADD_TAGS:En(y.ADD_TAGS)&&(oe===Pi&&(oe=ls(oe)),Y(oe,y.ADD_TAGS,ye))),Fe(y,"ADD_ATTR")&&(typeof y.ADD_ATTR=="functi\
on"?qt.attributeCheck=y.ADD_ATTR:En(y.ADD_ATTR)&&(ce===Ti&&(ce=ls(ce)),Y(ce,y.ADD_ATTR,ye))),Fe(y,"ADD_FORBID_CONTENTS")&&En(y.ADD_FORBID_CONTENTS)&&(Ar===Zo&&(Ar=ls(Ar)),Y(Ar,y.ADD_FORBID_CONTENTS,ye)),
Fi&&(oe["#text"]=!0),wr&&Y(oe,["html","head","body"]),oe.table&&(oe.tbody=!0,delete xn.tbody),y.TRUSTED_TYPES_POLICY){if(typeof y.TRUSTED_TYPES_POLICY.createHTML!="function")throw Wt('TRUSTED_TYPES_PO\
LICY configuration option must provide a "createHTML" hook.');if(typeof y.TRUSTED_TYPES_POLICY.createScriptURL!="function")throw Wt('TRUSTED_TYPES_POLICY configuration option must provide a "createScr\
iptURL" hook.');let x=I;I=y.TRUSTED_TYPES_POLICY;try{F=G("")}catch(B){throw I=x,B}}else y.TRUSTED_TYPES_POLICY===null?(I=void 0,F=""):(I===void 0&&(I=It()),I&&typeof F=="string"&&(F=G("")));gs=Be(y)},
ac=Y({},[...To,...Uo,...Ew]),oc=Y({},[...Lo,...kw]),Hh=function(y,m,x){return m===dt?y==="svg":m===ds?y==="svg"&&(x==="annotation-xml"||Qi[x]):!!ac[y]},zh=function(y,m,x){return m===dt?y==="math":m===
ys?y==="math"&&Hi[x]:!!oc[y]},jh=function(y,m,x){return m===ys&&!Hi[x]||m===ds&&!Qi[x]?!1:!oc[y]&&(Fh[y]||!ac[y])},Gh=function(y){let m=P(y),x=Or(D(y)),B=k(y),R=Gr,O="template";return B&&M(B)===we.element&&
(R=P(B),O=Or(D(B))),sc[m]?m===ys?Hh(x,R,O):m===ds?zh(x,R,O):m===dt?jh(x,R,O):Sn==="application/xhtml+xml":!1},Jt=function(y){as(e.removed,{element:y});try{k(y).removeChild(y)}catch{if(g(y),!k(y))throw Wt(
"a node selected for removal could not be detached from its tree and cannot be safely returned; refusing to sanitize in place")}},cc=function(y,m,x){try{w(y,m)}catch{try{y.removeAttribute(x)}catch{}}},
ji=function(y){Vi(y);let m=A(y);m&&Gt(uw(m),x=>{try{g(x)}catch{}}),M(y)===we.element&&Gi(y,!1)},Wr=function(y,m,x){if(!x)try{x=m.getAttributeNode(y)}catch{x=null}if(as(e.removed,{attribute:x||null,from:m}),
x)cc(m,x,y);else try{m.removeAttribute(y)}catch{}if(y==="is")if(zr||ps)try{Jt(m)}catch{}else try{m.setAttribute(y,"")}catch{}},Gi=function(y,m){let x=S(y);if(x)for(let B=x.length-1;B>=0;--B){let R=x[B],
O=R&&R.name;typeof O=="string"&&!(m&&ce[ye(O)])&&cc(y,R,O)}},Wi=function(y,m){let x=arguments.length>2&&arguments[2]!==void 0?arguments[2]:!1,B=[y];for(;B.length>0;){let R=B.pop();if(m(R)===!1)continue;
if(x&&M(R)===we.element){let j=E(R);Vr(j)&&B.push(j)}let O=A(R);if(O)for(let j=O.length-1;j>=0;--j)B.push(O[j])}},Vi=function(y){Wi(y,m=>{M(m)===we.element&&Gi(m,!0)})},Yi=function(y){let m=[];return Wi(
y,x=>{m.push(x)},!0),m},Wh=function(y,m){let x=Bo();Gt(Yi(y),B=>{M(B)===we.element&&Do(x,B)}),Gt(m,B=>{M(B)===we.element&&!os(x,B)&&Gi(B,!0)})},lc=function(y,m){let x=!1;return Gt(e.removed,B=>{B.element&&
(x=x||B.element===y,Vi(B.element))}),Wh(y,m),x},Vh=8,Yh=function(y,m){let x=mr,B=null,R=()=>(B||(B=Bo(),Gt(m,O=>{Do(B,O)})),B);for(let O=0;;O++){let j=Yi(y),Ee=[y],Dt=!1;if(Gt(j,ct=>{M(ct)===we.documentFragment?
as(Ee,ct):!Dt&&!os(x,ct)&&(Dt=os(R(),ct))}),!Dt)return;if(O>=Vh)throw Wt("the tree kept changing during in-place sanitization; refusing to return it");Gt(Ee,(ct,Ye)=>{qh(ct,Ye>0,y,R())})}},qh=function(y,m,x,B){
let R=ws(y),O;for(;O=R.nextNode();)!os(B,O)||os(mr,O)||(m&&ot(q.uponSanitizeShadowNode,O,null),Xi(O,x))},Jh=function(y){mr&&Do(mr,y)},uc=function(y,m){return gr?y==="patchsrc"?!0:y==="for"&&m!=="label"&&
m!=="output":!1},$h=function(y){gr&&Wi(y,m=>{let x=M(m);if(x===we.processingInstruction||x===we.comment&&Ie(dh,m.data)){try{g(m)}catch{}return!1}if(x===we.element){let B=m,R=ye(D(m));try{B.hasAttribute&&
B.hasAttribute("patchsrc")&&B.removeAttribute("patchsrc"),B.hasAttribute&&B.hasAttribute("for")&&uc("for",R)&&B.removeAttribute("for")}catch{}}return!0})},hc=function(y){let m=null,x=null;if(Ri)y="<re\
move></remove>"+y;else{let O=fw(y,Mw);x=O&&O[0]}Sn==="application/xhtml+xml"&&Gr===dt&&(y='<html xmlns="http://www.w3.org/1999/xhtml"><head></head><body>'+y+"</body></html>");let B=I?G(y):y;if(Gr===dt)
try{m=new u().parseFromString(B,Sn)}catch{}if(!m||!m.documentElement){m=Ve.createDocument(Gr,"template",null);try{m.documentElement.innerHTML=Oi?F:B}catch{}}let R=m.body||m.documentElement;return y&&x&&
R.insertBefore(r.createTextNode(x),R.childNodes[0]||null),Gr===dt?re.call(m,wr?"html":"body")[0]:wr?m.documentElement:R},ws=function(y){let m=arguments.length>1&&arguments[1]!==void 0?arguments[1]:!1,
x=U?U(y):y.ownerDocument;return Ne.call(x||y,y,(m?0:c.SHOW_ELEMENT)|c.SHOW_COMMENT|c.SHOW_TEXT|c.SHOW_PROCESSING_INSTRUCTION|c.SHOW_CDATA_SECTION,null)},qi=function(y){return y=Ci(y,Vt," "),y=Ci(y,Qr,
" "),y=Ci(y,Hr," "),y},Ji=function(y){var m;$i(y);let x=(m=y.querySelectorAll)===null||m===void 0?void 0:m.call(y,"template");x&&Gt(x,B=>{Vr(B.content)&&Ji(B.content)})},$i=function(y){y.normalize();let m=ws(
y,!0),x=m.nextNode();for(;x;)x.data=qi(x.data),x=m.nextNode()},ms=function(y){let m=K?K(y):null;return typeof m!="string"||ye(m)!=="form"?!1:typeof y.nodeName!="string"||typeof y.textContent!="string"||
typeof y.removeChild!="function"||y.attributes!==S(y)||typeof y.removeAttribute!="function"||typeof y.removeAttributeNode!="function"||typeof y.getAttributeNode!="function"||typeof y.setAttribute!="fu\
nction"||typeof y.namespaceURI!="string"||typeof y.insertBefore!="function"||typeof y.hasChildNodes!="function"||y.nodeType!==v(y)||y.childNodes!==A(y)},fc=function(y){if(!v||typeof y!="object"||y===null)
return null;try{let m=v(y);return typeof m=="number"?m:null}catch{return null}},Vr=function(y){return fc(y)===we.documentFragment},vn=function(y){return fc(y)!==null};function ot(C,y,m){C.length!==0&&
Gt(C,x=>{x.call(e,y,m,gs)})}let Xh=function(y,m,x){return!!(gr&&x===we.element&&y.hasChildNodes()&&!vn(y.firstElementChild)&&Ie(Ro,y.textContent)&&Ie(Ro,y.innerHTML)||gr&&Rw[m]&&x===we.element&&P(y)===
dt&&(vn(y.firstElementChild)||typeof y.textContent=="string"&&Ie(Ro,y.textContent))||x===we.processingInstruction||gr&&x===we.comment&&Ie(dh,y.data))},As=function(y,m){if(y instanceof RegExp)return Ie(
y,m);if(y instanceof Function){for(var x=arguments.length,B=new Array(x>2?x-2:0),R=2;R<x;R++)B[R-2]=arguments[R];return!!y(m,...B)}return!1},Zh=function(y,m,x){if(!xn[m]&&yc(m)&&As(pt.tagNameCheck,m))
return!1;if(Fi&&!Ar[m]&&!Ar[Or(m)]){let B=k(y),R=A(y);if(R&&B){let O=R.length;for(let j=O-1;j>=0;--j){let Ee=y===x?d(R[j],!0):R[j];B.insertBefore(Ee,b(y))}}}return Jt(y),!0},pc=function(y,m,x,B){return y.
length===0?m:m===x||m===B?ls(m):m},Yr=function(y,m){return y===m||k(y)!==null?!1:(Ni&&Vi(y),!0)},ef=function(y,m){if(Jh(y),ot(q.beforeSanitizeElements,y,null),Yr(y,m))return!0;if(ms(y))return Jt(y),!0;
let x=ye(D(y)),B=M(y);if(oe=pc(q.uponSanitizeElement,oe,Pi,hs),ot(q.uponSanitizeElement,y,{tagName:x,allowedTags:oe}),Yr(y,m))return!0;if(Xh(y,x,B))return Jt(y),!0;if(xn[x]||!(qt.tagCheck instanceof Function&&
qt.tagCheck(x))&&!oe[x]){let R=Zh(y,x,m);return R===!1&&(ot(q.afterSanitizeElements,y,null),Yr(y,m))?!0:R}if(B===we.element&&!Gh(y)||(x==="noscript"||x==="noembed"||x==="noframes")&&Ie(Uw,y.innerHTML))
return Jt(y),!0;if(Bt&&B===we.text){let R=y.textContent,O=qi(R);R!==O&&(as(e.removed,{element:y.cloneNode()}),y.textContent=O)}return ot(q.afterSanitizeElements,y,null),Yr(y,m)},dc=function(y,m,x){if(Vo[m]||
uc(m,y)||Jo&&(m==="id"||m==="name")&&(x in r||x in Qh))return!1;let B=ce[m]||qt.attributeCheck instanceof Function&&qt.attributeCheck(m,y);if(Ui&&Ie(dr,m)||Yo&&Ie(yr,m))return!0;if(!B)return yc(y)&&As(
pt.tagNameCheck,y)&&As(pt.attributeNameCheck,m,y)||m==="is"&&pt.allowCustomizedBuiltInElements&&As(pt.tagNameCheck,x);if(rc[m])return!0;let R=Ci(x,kn,"");return Ie(Wo,R)||(m==="src"||m==="xlink:href"||
m==="href")&&y!=="script"&&Po(x,"data:")===0&&ec[y]||qo&&!Ie(Yt,R)?!0:!x},tf=Y({},["annotation-xml","color-profile","font-face","font-face-format","font-face-name","font-face-src","font-face-uri","mis\
sing-glyph"]),yc=function(y){return!tf[Or(y)]&&Ie(Uh,y)},rf=function(y,m,x,B){if(I&&typeof h=="object"&&typeof h.getAttributeType=="function"&&!x)switch(h.getAttributeType(y,m)){case"TrustedHTML":return G(
B);case"TrustedScriptURL":return de(B)}return B},nf=function(y,m,x,B){try{return x?y.setAttributeNS(x,m,B):y.setAttribute(m,B),ms(y)?(Jt(y),!1):!0}catch{return Wr(m,y),!1}},gc=function(y,m){return gr&&
Ie(Lw,m)?!0:Or(y)==="attributename"&&Po(m,"href")!==-1},sf=function(y,m){if(ot(q.beforeSanitizeAttributes,y,null),Yr(y,m))return;let x=y.attributes;if(!x||ms(y))return;ce=pc(q.uponSanitizeAttribute,ce,
Ti,fs);let B={attrName:"",attrValue:"",keepAttr:!0,allowedAttributes:ce,forceKeepAttr:void 0},R=x.length,O=ye(D(y));for(;R--;){let j=x[R],Ee=j.name,Dt=j.namespaceURI,ct=j.value,Ye=ye(Ee),yt=ct,Ke=Ee===
"value"?yt:pw(yt),wc=!1;if(B.attrName=Ye,B.attrValue=Ke,B.keepAttr=!0,B.forceKeepAttr=void 0,ot(q.uponSanitizeAttribute,y,B),Ke=B.attrValue,$o&&(Ye==="id"||Ye==="name")&&Po(Ke,Xo)!==0&&(Wr(Ee,y,j),Ke=
Xo+Ke,wc=!0),gc(Ee,Ke)){Wr(Ee,y,j);continue}if(!B.forceKeepAttr){if(!B.keepAttr){Wr(Ee,y,j);continue}if(!Li&&Ie(yh,Ke)){Wr(Ee,y,j);continue}if(Bt&&(Ke=qi(Ke)),!dc(O,Ye,Ke)){Wr(Ee,y,j);continue}Ke=rf(O,
Ye,Dt,Ke),Ke!==yt&&nf(y,Ee,Dt,Ke)&&wc&&ah(e.removed)}}ot(q.afterSanitizeAttributes,y,null),Yr(y,m)},Xi=function(y,m){ef(y,m),sf(y,m),Vr(y.content)&&Zi(y.content)},Zi=function(y){let m=null,x=ws(y);for(ot(
q.beforeSanitizeShadowDOM,y,null);m=x.nextNode();)if(ot(q.uponSanitizeShadowNode,m,null),Xi(m,y),M(m)===we.element){let B=E(m);Vr(B)&&(ea(B),Zi(B))}Bt&&$i(y),ot(q.afterSanitizeShadowDOM,y,null)},ea=function(y){
let m=[{node:y,shadow:null}];for(;m.length>0;){let x=m.pop();if(x.shadow){Zi(x.shadow);continue}let B=x.node,R=M(B)===we.element,O=A(B);if(O)for(let j=O.length-1;j>=0;--j)m.push({node:O[j],shadow:null});
if(R){let j=K?K(B):null;if(typeof j=="string"&&ye(j)==="template"){let Ee=B.content;Vr(Ee)&&m.push({node:Ee,shadow:null})}}if(R){let j=E(B);Vr(j)&&m.push({node:null,shadow:j},{node:j,shadow:null})}}};
return e.sanitize=function(C){let y=arguments.length>1&&arguments[1]!==void 0?arguments[1]:{},m=null,x=null,B=null,R=null;if(Oi=!C,Oi&&(C=["<","!-->"].join("")),typeof C!="string"&&!vn(C)&&(C=mw(C),typeof C!=
"string"))throw Wt("dirty is not a string, aborting");if(!e.isSupported)return C;Mi?(oe=hs,ce=fs):zi(y),e.removed=[];let O=Ni&&typeof C!="string"&&vn(C),j=[],Ee=mr;if(O){$h(C);let yt=D(C);if(typeof yt==
"string"){let Ke=ye(yt);if(!oe[Ke]||xn[Ke])throw ji(C),Wt("root node is forbidden and cannot be sanitized in-place")}if(ms(C))throw ji(C),Wt("root node is clobbered and cannot be sanitized in-place");
j=Yi(C),mr=Bo()}else if(vn(C))m=hc(["<","!---->"].join("")),x=m.ownerDocument.importNode(C,!0),x.nodeType===we.element&&x.nodeName==="BODY"||x.nodeName==="HTML"?m=x:m.appendChild(x),ea(m);else{if(!zr&&
!Bt&&!wr&&C.indexOf("<")===-1)return pe(C);if(m=hc(C),!m)return zr?null:_i?F:""}m&&Ri&&Jt(m.firstChild);let Dt=O?C:m;try{O&&ea(C);let yt=ws(Dt);for(;B=yt.nextNode();)Xi(B,Dt);O&&Yh(C,j)}catch(yt){throw O&&
(ji(C),lc(C,j)),yt}finally{mr=Ee}if(O){if(lc(C,j))throw Wt("a node selected for removal could not be safely returned; refusing to sanitize in place");return Bt&&Ji(C),C}if(zr){if(Bt&&Ji(m),ps)for(R=Oe.
call(m.ownerDocument);m.firstChild;)R.appendChild(m.firstChild);else R=m;return(ce.shadowroot||ce.shadowrootmode)&&(R=Ze.call(n,R,!0)),R}let ct=()=>wr?m.outerHTML:m.innerHTML,Ye=ct();return Bt&&Ie(Cw,
Ye)&&($i(m),Ye=ct()),wr&&oe["!doctype"]&&m.ownerDocument&&m.ownerDocument.doctype&&m.ownerDocument.doctype.name&&Ie(Pw,m.ownerDocument.doctype.name)&&(Ye="<!DOCTYPE "+m.ownerDocument.doctype.name+`>
`+Ye),pe(Ye)},e.setConfig=function(){let C=arguments.length>0&&arguments[0]!==void 0?arguments[0]:{};zi(C),Mi=!0,hs=oe,fs=ce},e.clearConfig=function(){gs=null,Mi=!1,hs=null,fs=null,I=N,F=""},e.isValidAttribute=
function(C,y,m){gs||zi({});let x=ye(C),B=ye(y);return typeof m=="string"&&(gc(y,m)||!Li&&Ie(yh,m))?!1:dc(x,B,m)},e.addHook=function(C,y){typeof y=="function"&&Fe(q,C)&&as(q[C],y)},e.removeHook=function(C,y){
if(Fe(q,C)){if(y!==void 0){let m=lw(q[C],y);return m===-1?void 0:hw(q[C],m,1)[0]}return ah(q[C])}},e.removeHooks=function(C){Fe(q,C)&&(q[C]=[])},e.removeAllHooks=function(){q=gh()},e}var xh=kh();var Ki={};function Sh(t){Ki=t&&typeof t=="object"?t:{}}function _(t,e={}){return(typeof Ki[t]=="string"&&Ki[t]?Ki[t]:t).replace(/\{(\w+)\}/g,(n,s)=>s in e?String(e[s]):n)}var vh=(t,e={},...r)=>{let n=document.createElement(t);for(let[s,i]of Object.entries(e))s==="class"?n.className=i:s==="text"?n.textContent=i:n.setAttribute(s,i);for(let s of r)s!=null&&n.append(s);return n};
function No(t){return t?t.group?`${t.name||""}: ${t.group.map(No).join(", ")};`:t.name&&t.address?`${t.name} <${t.address}>`:t.address||t.name||"":""}var Ch=t=>(t||[]).map(No).join(", ");function Nw(t){
return t<1024?_("{n} bytes",{n:t}):t<1024*1024?`${(t/1024).toFixed(1)} KB`:`${(t/1024/1024).toFixed(1)} MB`}function Ow(t){if(!t)return"";let e=new Date(t);return isNaN(e)?String(t):e.toLocaleString()}
var Qw="default-src 'none'; img-src data:",Hw="default-src 'none'; img-src data: https: http:",zw={WHOLE_DOCUMENT:!0,RETURN_DOM:!0,SANITIZE_NAMED_PROPS:!0,FORBID_TAGS:["meta","base","link","script","i\
frame","frame","frameset","object","embed","portal","template","form","input","button","select","textarea","noscript"],FORBID_ATTR:["action","formaction","ping"]},jw=["src","background","poster","href",
"xlink:href"];async function Gw(t,e){let r=xh.sanitize(t,zw),n=document.implementation.createHTMLDocument("");n.replaceChild(n.importNode(r,!0),n.documentElement);let s=A=>Element.prototype.querySelectorAll.
call(n.documentElement,A),i=new Map;for(let A of e)A.contentId&&i.set(A.contentId.replace(/^<|>$/g,"").toLowerCase(),A);let a=new Set,o=new Map,c=A=>{if(!o.has(A)){let k=/^image\/[a-z0-9.+-]+$/i.test(
A.mimeType||"")?A.mimeType:"application/octet-stream";o.set(A,`data:${k};base64,${nh(new Uint8Array(A.content))}`)}return o.get(A)},u=!1,h=A=>/^(a|area)$/i.test(A.localName);for(let A of s("*")){for(let E of jw){
if((E==="href"||E==="xlink:href")&&h(A))continue;let S=A.getAttribute(E);if(S==null)continue;let v=/^\s*cid:(.*)$/i.exec(S);if(v){let K=i.get(decodeURIComponent(v[1].trim()).replace(/^<|>$/g,"").toLowerCase());
K?(a.add(K),A.setAttribute(E,c(K))):A.removeAttribute(E)}else/^\s*(https?:)?\/\//i.test(S)?u=!0:/^\s*data:/i.test(S)||A.removeAttribute(E)}if(!A.hasAttribute("srcset"))continue;let k=A.getAttribute("s\
rcset");k!=null&&(/(^|,)\s*(https?:)?\/\//i.test(k)?u=!0:A.removeAttribute("srcset"))}/url\(\s*['"]?\s*(https?:)?\/\//i.test(t)&&(u=!0);for(let A of s("a, area")){A.removeAttribute("xlink:href");let k=A.
getAttribute("href");if(k!=null){if(!/^\s*(https?:|mailto:|tel:)/i.test(k)){A.removeAttribute("href");continue}A.setAttribute("target","_blank"),A.setAttribute("rel","noopener noreferrer")}}let f=s("h\
ead")[0]||n.documentElement.insertBefore(n.createElement("head"),n.documentElement.firstChild),d=n.createElement("meta");d.setAttribute("charset","utf-8");let g=n.createElement("meta");g.setAttribute(
"http-equiv","Content-Security-Policy");let w=n.createElement("meta");return w.setAttribute("name","referrer"),w.setAttribute("content","no-referrer"),f.prepend(d,g,w),{render:A=>(g.setAttribute("cont\
ent",A?Hw:Qw),"<!DOCTYPE html>"+n.documentElement.outerHTML),remote:u,used:a}}function Ww(t){let e;try{e=t.contentDocument}catch{return}if(!e||!e.documentElement)return;let r=e.defaultView,n=[];for(let i of e.
querySelectorAll("style"))try{let a=new r.CSSStyleSheet;a.replaceSync(i.textContent),n.push(a)}catch{}e.adoptedStyleSheets=n;for(let i of e.querySelectorAll("[style]"))i.style.cssText=i.getAttribute("\
style");let s=()=>{let i=Math.max(e.body?e.body.scrollHeight:0,e.documentElement.offsetHeight)+24;t.style.height=Math.min(Math.max(i,120),2e4)+"px"};s();for(let i of e.images)i.complete||i.addEventListener(
"load",s)}var Vw=256*1024,Yw=32*1024;function qw(t,e){if(e instanceof Rr){Ih(t,e.pieces);return}if(e.length<=Vw){t.textContent=e;return}let r=[];for(let n=0;n<e.length;){let s=e.indexOf(`
`,n+Yw),i=s<0?e.length:s+1;r.push(e.slice(n,i)),n=i}Ih(t,r)}function Ih(t,e){t.replaceChildren();let r=parseFloat(getComputedStyle(t).lineHeight)||20,n=[];for(let s of e){let i=1;for(let o=s.indexOf(`\

`);o>=0&&o<s.length-1;o=s.indexOf(`
`,o+1))i++;let a=document.createElement("div");a.textContent=s,a.style.contentVisibility="auto",a.style.containIntrinsicBlockSize=`auto ${Math.round(i*r)}px`,n.push(a)}t.append(...n)}async function Bh(t,e){
let r=e.attachments||[],n=(g,w)=>{let b=t.querySelector("#"+g);b.textContent=w,b.closest("tr").hidden=!w};n("msg-from",No(e.from)),n("msg-to",Ch(e.to)),n("msg-cc",Ch(e.cc)),n("msg-date",Ow(e.date)),n(
"msg-subject",e.subject||"");let s=t.querySelector("#msg-text"),i=t.querySelector("#msg-text-box"),a=t.querySelector("#msg-html-box"),o=t.querySelector("#msg-html"),c=t.querySelector("#show-images"),u=typeof e.
html=="string"&&e.html.trim()!=="";qw(s,e.text||"");let h=new Set;if(u){let g=await Gw(e.html,r);h=g.used,o.onload=()=>Ww(o),o.srcdoc=g.render(!1),a.hidden=!1,c.hidden=!g.remote,c.onclick=()=>{o.srcdoc=
g.render(!0),c.hidden=!0,o.focus()},i.open=!1}else a.hidden=!0,i.open=!0;i.hidden=!e.text,t.querySelector("#msg-text-summary").hidden=!u;let f=t.querySelector("#attachments");f.replaceChildren();let d=0;
for(let g of r){if(h.has(g)&&g.disposition!=="attachment")continue;d++;let w=g.filename||`attachment-${d}${g.mimeType==="message/rfc822"?".eml":""}`,b=new Blob([g.content],{type:"application/octet-str\
eam"}),A=vh("a",{href:URL.createObjectURL(b),download:w,text:w});f.append(vh("li",{},A,` (${Nw(b.size)})`))}t.querySelector("#attachments-box").hidden=d===0,t.hidden=!1}var Oo={reply:()=>_("Reply"),"reply-all":()=>_("Reply all"),forward:()=>_("Forward")},te=(t,e={},...r)=>{let n=document.createElement(t);for(let[s,i]of Object.entries(e))s==="class"?n.className=i:s===
"text"?n.textContent=i:i===!0?n.setAttribute(s,""):i!==!1&&i!=null&&n.setAttribute(s,i);for(let s of r)s!=null&&n.append(s);return n};function Qo(t){return t?t.group?t.group.map(Qo).join(", "):t.name&&
t.address?`${t.name} <${t.address}>`:t.address||t.name||"":""}function Jw(t,e){let r=Qo(e.from),n=e.date?new Date(e.date):null,s=n&&!isNaN(n)?n.toUTCString():"",i=String(e.text||"").replace(/\r\n/g,`
`).replace(/\s+$/,"");if(t==="forward"){let o=["---------- "+_("Forwarded message")+" ----------",`From: ${r}`];return s&&o.push(`Date: ${s}`),o.push(`Subject: ${e.subject||""}`,`To: ${(e.to||[]).map(
Qo).join(", ")}`,"",i),o.join(`
`)}return(s?_("On {when}, {from} wrote:",{when:s,from:r}):_("{from} wrote:",{from:r}))+`
`+i.split(`
`).map(o=>o?"> "+o:">").join(`
`)}function Dh(t,e,r,n){let s=(Array.isArray(r.reply)?r.reply:[]).filter(I=>Oo[I]),i=document.getElementById("reply");if(i&&i.remove(),!r.reply_token||s.length===0)return;let a=String(e.publicURL||"").
replace(/\/+$/,"");if(!a)return;let o=r.reply_to||{},c=te("p",{id:"reply-actions"});for(let I of s)c.append(te("button",{type:"button",class:"secondary",id:`reply-${I}`,"data-kind":I,text:Oo[I]()})," ");
let u=te("h2",{id:"compose-title"}),h=te("input",{id:"compose-to",name:"to",type:"text",autocomplete:"email",spellcheck:"false"}),f=te("p",{id:"compose-to-hint",class:"hint",text:_("Separate several a\
ddresses with commas.")}),d=te("textarea",{id:"compose-text",name:"text",rows:"8"}),g=te("input",{id:"compose-files",name:"attachments",type:"file",multiple:!0}),w=te("p",{id:"compose-forwarded",class:"\
hint",hidden:!0}),b=te("pre",{id:"compose-quote","aria-label":_("Original message")}),A=te("button",{id:"compose-send",type:"submit",text:_("Send")}),k=te("span",{id:"compose-status",role:"status","ar\
ia-live":"polite"}),E=te("div",{id:"compose-error",class:"error",role:"alert",tabindex:"-1",hidden:!0}),S=te("form",{id:"compose",hidden:!0,"aria-labelledby":"compose-title"},u,te("div",{},te("label",
{for:"compose-to",text:_("To")}),h),f,te("div",{},te("label",{for:"compose-text",text:_("Message")}),d),te("div",{},te("label",{for:"compose-files",text:_("Attachments")}),g),w,b,E,te("p",{},A,k)),v=te(
"div",{id:"compose-sent",role:"status",tabindex:"-1",hidden:!0}),K=te("section",{id:"reply","aria-label":_("Answer securely")},c,S,v);t.after(K);let U=null,M=!1,D=(n.attachments||[]).filter(I=>I.disposition!==
"inline"||I.filename),T=I=>{U=I,u.textContent=Oo[I]();let F=I!=="forward";h.readOnly=F,h.value=F?(o[I]||[]).join(", "):"",f.hidden=F,w.hidden=!(I==="forward"&&D.length),w.textContent=D.length?_("The o\
riginal attachments go with it: {names}",{names:D.map(N=>N.filename||"attachment").join(", ")}):"",b.textContent=Jw(I,n),E.hidden=!0,v.hidden=!0,S.hidden=!1,(F?d:h).focus()};for(let I of c.querySelectorAll(
"button"))I.addEventListener("click",()=>T(I.dataset.kind));S.addEventListener("submit",async I=>{if(I.preventDefault(),M||!U)return;if(U==="forward"&&!h.value.trim()){P(_("Enter the address to forwar\
d to in To."),h);return}if(!d.value.trim()&&g.files.length===0){P(_("Write a message or attach a file."),d);return}let F=new FormData;F.append("reply_token",r.reply_token),F.append("kind",U),U==="forw\
ard"&&F.append("to",h.value),F.append("subject",n.subject||""),F.append("text",d.value.replace(/\s+$/,"")+`

`+b.textContent+`
`);for(let N of g.files)F.append("attachments",N,N.name);if(U==="forward")for(let N of D)F.append("attachments",new Blob([N.content],{type:N.mimeType||"application/octet-stream"}),N.filename||"attachm\
ent");M=!0,A.disabled=!0,k.textContent=_("Sending\u2026"),E.hidden=!0;try{let N=e.lang?`?lang=${encodeURIComponent(e.lang)}`:"",W=`${a}/api/v1/envelopes/${encodeURIComponent(e.envelope)}/reply${N}`,z;
try{z=await fetch(W,{method:"POST",body:F,credentials:"omit",cache:"no-store",referrerPolicy:"no-referrer"})}catch{throw new Error(_("The key service at {base} cannot be reached, so nothing was sent. \
Your text is still here: try again later.",{base:a}))}let Q={};try{Q=await z.json()}catch{}if(!z.ok||!Q.sent){let pe=typeof Q.message=="string"&&Q.message?Q.message:_("The key service refused the repl\
y (HTTP {status}).",{status:z.status});throw new Error(pe+(z.status===413||z.status===400?"":" "+_("Nothing was sent.")))}let G=Array.isArray(Q.recipients)?Q.recipients.join(", "):"";v.replaceChildren(
te("p",{text:_("Sent")}),te("p",{text:G?_("Sent securely to {who}.",{who:G}):_("Sent securely.")})),v.hidden=!1,S.hidden=!0,d.value="",g.value="",U=null,document.documentElement.dataset.reply="sent",v.
focus()}catch(N){P(N&&N.message?N.message:String(N),null)}finally{M=!1,A.disabled=!1,k.textContent=""}});function P(I,F){E.replaceChildren(te("p",{text:I})),E.hidden=!1,(F||E).focus()}}var fe=t=>document.getElementById(t),us="other";function $w(){try{return JSON.parse(fe("postseal-data").textContent)}catch{return null}}function Kh(){let t=$w(),e=fe("unlock");if(!t||!e)return;Sh(t.messages);
let r=fe("email-select"),n=fe("email-other"),s=fe("password"),i=fe("email-field"),a=fe("email-other-field");if(t.mode==="password")i.hidden=!0,a.hidden=!0;else{let u=Array.isArray(t.recipients)?t.recipients:
[];r.replaceChildren();for(let f of u)r.append(new Option(f,f));r.append(new Option(_("My address is not listed"),us));let h=()=>{a.hidden=r.value!==us,n.required=r.value===us};r.addEventListener("cha\
nge",()=>{h(),Ho(t,o()),r.value===us&&n.focus()}),n.addEventListener("input",()=>Ho(t,o())),h(),Ho(t,o())}e.hidden=!1;for(let u of["noscript-intro","recipients-box"]){let h=fe(u);h&&(h.hidden=!0)}document.
documentElement.dataset.decryptor="ready";function o(){return t.mode==="password"?"":(r.value===us?n.value:r.value).trim()}let c=!1;e.addEventListener("submit",async u=>{if(u.preventDefault(),c)return;
let h=o();if(t.mode!=="password"&&!h){zo({text:_("Enter your e-mail address.")},n);return}if(!s.value){zo(t.mode==="password"?{text:_("Enter the password agreed between your organisation and the sende\
r.")}:{text:_("Enter your password. If this is your first secure message, you have no password yet: press Register, choose a password, confirm your address from the e-mail you receive, then come back \
and press Open."),links:Go(t,h)},s);return}c=!0;let f=fe("open");f.disabled=!0,jo(_("Opening the message\u2026")),Xw();let d=performance.now();Ct.start();try{let g=t.mode==="password",w=g?{key:s.value}:
await em(t,h,s.value);Ct("key");let b=await nm(w.key,g,w.payload_sha256);await Bh(fe("message"),b),Ct("render"),g||Dh(fe("message"),t,w,b);for(let A of[e,fe("instructions"),fe("open-online"),fe("envel\
ope-header")])A&&(A.hidden=!0);jo(""),fe("message").focus(),fe("message").offsetHeight,Ct("layout"),document.documentElement.dataset.openMs=String(Math.round(performance.now()-d)),document.documentElement.
dataset.openPhases=Ct.text()}catch(g){zo(g instanceof xe?g:{text:_("The message could not be opened: {reason}",{reason:g&&g.message?g.message:String(g)})},null)}finally{c=!1,f.disabled=!1}})}function Th(t){
return String(t.publicURL||"").replace(/\/+$/,"")}function Go(t,e,r,n){let s=Th(t);if(!s)return[];let i=[];e&&i.push(`email=${encodeURIComponent(e)}`),t.lang&&t.lang!=="en"&&i.push(`lang=${encodeURIComponent(
t.lang)}`);let a=i.join("&"),o=`${s}/register?${a?a+"&":""}envelope=${encodeURIComponent(t.envelope)}`;return[{href:Ph(r,o),text:e?_("Register {email}",{email:e}):_("Register")},{href:Ph(n,`${s}/forgo\
t${a?"?"+a:""}`),text:_("Forgot your password?")}]}function Ho(t,e){let[r,n]=Go(t,e);if(!r)return;let s=fe("register-link"),i=fe("forgot-link");s&&(s.href=r.href),i&&(i.href=n.href)}var xe=class extends Error{constructor(e,r=[]){
super(e),this.text=e,this.links=r}};function jo(t){let e=fe("status");e&&(e.textContent=t)}function Xw(){let t=fe("error");t.replaceChildren(),t.hidden=!0}function zo(t,e){jo("");let r=fe("error");r.replaceChildren();
let n=document.createElement("p");n.textContent=t.text,r.append(n);for(let s of t.links||[]){let i=document.createElement("p"),a=document.createElement("a");a.href=s.href,a.textContent=s.text,a.rel="n\
oopener noreferrer",a.target="_blank",i.append(a),r.append(i)}r.hidden=!1,(e||r).focus()}function Zw(t){let e=Math.max(1,Math.ceil(t/60));return e===1?_("1 minute"):_("{n} minutes",{n:e})}function Ph(t,e){
try{let r=new URL(t);if(r.protocol==="https:"||r.protocol==="http:")return r.href}catch{}return e}async function em(t,e,r){let n=Th(t);if(!n)throw new xe(_("This message opens only with the key servic\
e of {org}, and this file does not say where that is. Contact the sender.",{org:t.org||_("the sender")}));let s=`${n}/api/v1/envelopes/${encodeURIComponent(t.envelope)}/key`,i;try{i=await fetch(s,{method:"\
POST",body:JSON.stringify({email:e,password:r}),headers:{"Content-Type":"text/plain;charset=UTF-8"},credentials:"omit",cache:"no-store",referrerPolicy:"no-referrer"})}catch{throw new xe(document.getElementById(
"open-online")?_("The key service at {url} cannot be reached. Check your Internet connection and try again later, or use the Open Online button below.",{url:n}):_("The key service at {url} cannot be r\
eached. Check your Internet connection and try again later.",{url:n}))}let a={};try{a=await i.json()}catch{}if(i.ok&&typeof a.key=="string"&&a.key)return a;let o=t.org||_("the sender\u2019s organisation");
switch(i.status){case 401:throw new xe(_("The password is wrong, or {email} is not registered with the key service yet. Next step: if this is your first secure message, press Register; if you register\
ed but have not confirmed your address yet, open the link in the e-mail you received and enter your password there; if you do not remember your password, press Forgot your password?.",{email:e}),Go(t,
e,a.register_url,a.forgot_url));case 403:throw new xe(_("This message has been locked by {org}. Contact the sender if you still need it.",{org:o}));case 404:throw new xe(_("The key service does not kn\
ow this message. It may have been withdrawn; contact the sender."));case 410:throw new xe(_("This message has expired and can no longer be opened. Ask the sender to send it again."));case 429:{let c=Number(
a.retry_after||i.headers.get("Retry-After"))||60;throw new xe(_("Too many attempts. Try again in {wait}.",{wait:Zw(c)}))}case 400:throw new xe(_("The key service did not accept the request. Check the \
e-mail address and try again."));case 503:throw new xe(_("The key service is temporarily unavailable. Try again in a few minutes."))}throw i.ok?new xe(_("The key service sent an answer this page does \
not understand. Try again later.")):new xe(_("The key service answered with an error (HTTP {status}). Try again later.",{status:i.status}))}var tm=t=>Array.from(new Uint8Array(t),e=>e.toString(16).padStart(
2,"0")).join("");async function rm(t,e){if(!e)return;let r=globalThis.crypto&&globalThis.crypto.subtle;if(!r)throw new xe(_("This browser cannot check that the message is genuine here. Open the attach\
ment in an up-to-date browser."));if(tm(await r.digest("SHA-256",t))!==String(e).toLowerCase())throw new xe(_("This is not the message that was sealed: its content was replaced after it was sent (for \
example by another recipient), so it is not shown. Contact the sender."))}var Ct=(()=>{let t=0,e=[],r=n=>{let s=performance.now();e.push(`${n}=${Math.round(s-t)}`),t=s};return r.start=()=>{t=performance.
now(),e=[]},r.text=()=>e.join(" "),r})();async function nm(t,e,r){let n=new xe(_("This file is damaged: the encrypted message in it cannot be read. Ask the sender to send it again.")),s;try{s=rh(fe("p\
ayload").value)}catch{throw n}Ct("dearmor"),await rm(s,r),Ct("digest");let i;try{i=await Iu({binaryMessage:s}),Ct("packets")}catch{throw n}let a;try{({data:a}=await Bu({message:i,passwords:[t],format:"\
binary"}))}catch(o){let c=String(o&&o.message||o);throw/session key|passphrase|password/i.test(c)?new xe(e?_("The password is wrong. Use the password agreed between your organisation and the sender."):
_("The key from the key service does not open this message: the file may have been changed. Ask the sender to send it again.")):n}Ct("decrypt");try{let o=a.byteOffset===0&&a.byteLength===a.buffer.byteLength,
c=await is.parse(o?a.buffer:a,{attachmentEncoding:"arraybuffer"});return Ct("parse"),c}catch{throw new xe(_("The message was decrypted but could not be read as an e-mail."))}}document.readyState==="lo\
ading"?document.addEventListener("DOMContentLoaded",Kh):Kh();})();
/*! Bundled license information:

openpgp/dist/lightweight/sha512.mjs:
  (*! OpenPGP.js v6.3.2 - 2026-09-24 - this is LGPL licensed code, see LICENSE/our website https://openpgpjs.org/ for more information. *)
  (*! noble-hashes - MIT License (c) 2022 Paul Miller (paulmillr.com) *)

openpgp/dist/lightweight/noble_hashes.mjs:
openpgp/dist/lightweight/argon2id.mjs:
openpgp/dist/lightweight/openpgp.mjs:
  (*! OpenPGP.js v6.3.2 - 2026-09-24 - this is LGPL licensed code, see LICENSE/our website https://openpgpjs.org/ for more information. *)

openpgp/dist/lightweight/openpgp.mjs:
  (*! noble-ciphers - MIT License (c) 2023 Paul Miller (paulmillr.com) *)

dompurify/dist/purify.es.mjs:
  (*! @license DOMPurify 3.4.18 | (c) Cure53 and other contributors | Released under the Apache license 2.0 and Mozilla Public License 2.0 | github.com/cure53/DOMPurify/blob/3.4.18/LICENSE *)
  (*! regenerator-runtime -- Copyright (c) 2014-present, Facebook, Inc. -- license (MIT): https://github.com/babel/babel/blob/main/packages/babel-helpers/LICENSE *)
*/
